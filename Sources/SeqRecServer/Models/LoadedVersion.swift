// One loaded version of a model: its backend, what loading it cost, and the inference workers the
// loader warmed for it (docs/OPERATIONS.md §11). The model set refcounts it by requests in flight;
// the last reference is dropped on the lifecycle thread, so unmapping the file and freeing its
// huge-page table copy never runs on a serving thread.
import SeqRecProtocol

package final class LoadedVersion: @unchecked Sendable {
    // safe: `backend` and `loadSeconds` are immutable; `warmWorkers` is used only with the server's
    // lock held (the loader fills it before the version is published, runners take from it).
    package let backend: any InferenceBackend
    /// Seconds from opening the file to the end of the warm-up.
    package let loadSeconds: Double
    private var warmWorkers: [any InferenceWorker]

    package init(backend: any InferenceBackend, loadSeconds: Double = 0, warmWorkers: [any InferenceWorker] = []) {
        self.backend = backend
        self.loadSeconds = loadSeconds
        self.warmWorkers = warmWorkers
    }

    package var info: ModelDescription { backend.info }
    package var name: String { backend.info.name }
    package var version: UInt32 { backend.info.version }

    /// A worker the loader already ran, if one is left (server lock held); else runners make their own.
    func takeWarmWorker() -> (any InferenceWorker)? { warmWorkers.popLast() }
}
