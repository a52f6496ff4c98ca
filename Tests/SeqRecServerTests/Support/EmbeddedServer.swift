// An in-memory harness for `ServerCore`, in the style of SwiftNIO's EmbeddedChannel: no sockets, no
// threads, no sleeps. Tests feed bytes and end-of-stream per connection, move a fake clock, run
// due batches on the calling thread, and read back the frames the server wrote and the actions it
// asked the transport for.
import SeqRecPosix
import Testing
import SeqRecProtocol
@testable import SeqRecServer

final class EmbeddedServer {
    let core: ServerCore
    private let runner: BatchRunner
    /// The fake monotonic clock (nanoseconds).
    private(set) var now: UInt64 = 1_000_000_000_000
    private var decoders: [ConnectionToken: FrameDecoder] = [:]
    private var actionBuffer: [CoreAction] = []
    private var dirty: [ConnectionToken] = []
    /// Every action the core asked for, in order.
    private(set) var actions: [CoreAction] = []

    init(backends: [any InferenceBackend], _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.workers = 1
        configuration.drainDelayMilliseconds = 0
        configure(&configuration)
        core = try ServerCore(configuration: configuration, backends: backends)
        runner = BatchRunner(maxBatch: configuration.maxBatch)
    }

    /// A new connection (nil when the core refuses it: max-connections).
    func connect() -> ConnectionToken? {
        guard let token = core.open(now: now) else { return nil }
        var limits = ProtocolLimits()
        limits.maxFrameLength = 64 * 1_024 * 1_024
        decoders[token] = FrameDecoder(role: .client, limits: limits)
        return token
    }

    /// Preface + HELLO on a new connection; returns it after checking the HELLO_ACK.
    func handshaken() throws -> ConnectionToken {
        let token = try #require(connect())
        send(ConnectionPreface.bytes + Hello().frameBytes(requestID: 0), on: token)
        let frames = try read(token)
        guard frames.count == 1, frames[0].header.type == .helloAck else {
            throw HarnessError("expected one HELLO_ACK, got \(frames.map(\.header.type))")
        }
        return token
    }

    func send(_ bytes: [UInt8], on token: ConnectionToken) {
        bytes.withUnsafeBytes { core.receive($0, on: token, now: now) }
        collect()
    }

    /// The peer's end of stream.
    func endOfStream(_ token: ConnectionToken) {
        core.peerFinishedSending(token, now: now)
        collect()
    }

    /// Takes every byte the core wrote for `token` (as a transport that writes everything) and decodes it.
    func read(_ token: ConnectionToken) throws -> [Frame] {
        var bytes: [UInt8] = []
        if let written = core.withPendingOutput(token, { Array($0) }) {
            bytes = written
            core.wrote(written.count, on: token, now: now)
            collect()
        }
        decoders[token]!.feed(bytes[...])
        var frames: [Frame] = []
        while let frame = try decoders[token]!.next() {
            frames.append(Frame(header: frame.header, body: ArraySlice(Array(frame.body))))
        }
        return frames
    }

    /// Runs every due batch on this thread, as a crew member would; returns how many model calls ran.
    @discardableResult
    func runDueBatches() -> Int {
        var batch: [Int] = []
        var calls = 0
        while let model = core.takeDueBatch(now: now, into: &batch) {
            let report = runner.run(batch, model: model, version: core.models[model],
                                    generation: core.models.generation(ofSlot: model) ?? 0, pool: core.pool, now: now)
            if report.ran > 0 { calls += 1 }
            core.complete(batch, model: model, nanoseconds: report.ran > 0 ? 2_000_000 : 0, now: now)
            collect()
        }
        return calls
    }

    /// Drops the runner's workers of released versions, as the server does after each batch.
    func dropReleasedWorkers() {
        var graveyard: [AnyObject] = []
        runner.dropReleasedWorkers(core.models, into: &graveyard)
        var released: [LoadedVersion] = []
        core.models.takeReleased(into: &released)
    }

    /// Moves the clock and runs the timers.
    func advance(milliseconds: UInt64) {
        now += milliseconds * 1_000_000
        core.tick(now: now)
        collect()
    }

    func drain() {
        core.requestDrain(now: now)
        collect()
    }

    func wasClosed(_ token: ConnectionToken) -> Bool { actions.contains(.close(token)) }
    func wasShutDown(_ token: ConnectionToken) -> Bool { actions.contains(.shutdownWrite(token)) }

    private func collect() {
        core.takeDirty(into: &dirty)  // the harness reads on demand instead of flushing
        core.takeActions(into: &actionBuffer)
        actions += actionBuffer
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
