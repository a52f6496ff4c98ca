// A model stand-in with a known answer and controllable speed, for tests that need exact timing
// (deadlines, overload, drain) or several models.
import Foundation
import SeqRecCore
import SeqRecProtocol
import Synchronization
@testable import SeqRecServer

final class FakeBackend: InferenceBackend, @unchecked Sendable {
    let info: ModelDescription
    /// Time each batch takes, whatever its size.
    let batchDelayMicroseconds: UInt32
    let executedQueries = Atomic<Int>(0)
    let executedBatches = Atomic<Int>(0)
    let largestBatch = Atomic<Int>(0)
    /// While true, workers wait before running a batch: tests hold requests in flight on purpose.
    let holdBatches = Atomic<Bool>(false)

    init(name: String = "fake", version: UInt32 = 1, itemCount: Int = 100, batchDelayMicroseconds: UInt32 = 0,
         hasVocabulary: Bool = true, embeddingWidth: Int = 4) {
        info = ModelDescription(name: name, version: version, family: "test-fake", itemCount: UInt32(itemCount), maxSessionLength: 50,
                                embeddingWidth: UInt32(embeddingWidth), hasVocabulary: hasVocabulary, isDefault: false)
        self.batchDelayMicroseconds = batchDelayMicroseconds
    }

    /// The answer for a session: the k items after the last one (wrapping), best first.
    static func expectedItems(session: [Int32], k: Int, itemCount: Int) -> [Int32] {
        let last = Int(session.last ?? 0)
        return (0..<k).map { Int32((last + 1 + $0) % itemCount) }
    }

    static func expectedScores(k: Int) -> [Float] { (0..<k).map { Float(k - $0) } }

    func validate(_ query: SessionQuery) throws(QueryRejection) {
        let itemCount = Int(info.itemCount)
        guard query.k >= 1, query.k <= itemCount else {
            throw QueryRejection("k = \(query.k) must be 1...\(info.itemCount)")
        }
        for list in [query.items, query.allow ?? [], query.deny, query.candidates ?? []] {
            if let bad = list.first(where: { $0 < 0 || Int($0) >= itemCount }) {
                throw QueryRejection("item id \(bad) is outside 0..<\(info.itemCount)")
            }
        }
        guard query.items.count <= Int(info.maxSessionLength) else {
            throw QueryRejection("session of \(query.items.count) items is longer than \(info.maxSessionLength)")
        }
    }

    func appendItemIDs(ofTokens tokens: [String], skipUnknown: Bool, into ids: inout [Int32]) throws(QueryRejection) {
        for token in tokens {
            if token.hasPrefix("item-"), let id = Int32(token.dropFirst(5)), id >= 0, Int(id) < Int(info.itemCount) {
                ids.append(id)
            } else if !skipUnknown {
                throw QueryRejection("unknown item '\(token)'")
            }
        }
    }

    func token(of item: Int32) -> String? { "item-\(item)" }

    func makeWorker() -> any InferenceWorker { FakeWorker(backend: self) }
}

final class FakeWorker: InferenceWorker {
    private let backend: FakeBackend

    init(backend: FakeBackend) { self.backend = backend }

    func recommend(_ queries: ArraySlice<SessionQuery>, into results: inout [ScoredItems]) {
        while backend.holdBatches.load(ordering: .acquiring) { usleep(1_000) }
        if backend.batchDelayMicroseconds > 0 { usleep(backend.batchDelayMicroseconds) }
        backend.executedBatches.wrappingAdd(1, ordering: .relaxed)
        backend.executedQueries.wrappingAdd(queries.count, ordering: .relaxed)
        backend.largestBatch.max(queries.count, ordering: .relaxed)
        for (position, query) in queries.enumerated() {
            let items = FakeBackend.expectedItems(session: query.items, k: query.k, itemCount: Int(backend.info.itemCount))
            results[position].items.removeAll(keepingCapacity: true)
            results[position].items.append(contentsOf: items)
            results[position].scores.removeAll(keepingCapacity: true)
            results[position].scores.append(contentsOf: FakeBackend.expectedScores(k: query.k))
            results[position].embedding.removeAll(keepingCapacity: true)
            if query.includeEmbedding {
                results[position].embedding.append(contentsOf: repeatElement(Float(query.items.last ?? 0), count: Int(backend.info.embeddingWidth)))
            }
        }
    }
}
