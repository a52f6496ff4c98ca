// HAProxy `agent-check` (docs/DEPLOY.md, `--agent-port`): a side port where every connection gets
// one ASCII line and is closed. "ready" while the server takes traffic; "drain" from SIGTERM on (and
// while models load), which HAProxy turns into weight 0 at once: no new connections, existing ones
// finish, without waiting for the health check's fall × inter. Its own small thread; nothing is read
// from the peer, so there is nothing to parse and nothing a peer can make it wait for.
import Foundation
import SeqRecPosix
import Synchronization

public final class AgentCheckListener: @unchecked Sendable {
    /// The bound port (the kernel's choice for port 0).
    public let port: UInt16
    private let listener: Socket
    private let answer: @Sendable () -> Readiness
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// Binds `host:port`; `start()` begins answering with the line for `answer()` at that moment.
    public init(host: String, port: UInt16, answer: @escaping @Sendable () -> Readiness) throws {
        listener = try Socket.listen(on: try SocketAddress(host: host, port: port), backlog: 16)
        self.port = try listener.localPort()
        self.answer = answer
    }

    /// The agent's line for a readiness: HAProxy's `ready` (weight restored) or `drain` (weight 0).
    public static func line(for readiness: Readiness) -> String {
        readiness.ready ? "ready\n" : "drain\n"
    }

    public func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "seqrec-agent"
        self.thread = thread
        thread.start()
    }

    /// Stops answering and closes the port; returns when the thread has ended.
    public func stop() {
        guard thread != nil, !stopRequested.exchange(true, ordering: .sequentiallyConsistent) else { return }
        finished.wait()
        listener.close()
    }

    private func run() {
        while !stopRequested.load(ordering: .relaxed) {
            // A short poll, so `stop` is noticed within 100 ms.
            guard (try? listener.poll(.readable, timeoutMilliseconds: 100)) == true else { continue }
            while let connection = try? listener.accept() {
                let line = Array(Self.line(for: answer()).utf8)
                // Six bytes always fit an empty socket buffer, so the non-blocking write takes them
                // whole; a failure only means the peer is gone.
                _ = try? line.withUnsafeBytes { bytes in try connection.write(from: bytes) }
                connection.shutdown(.write)
                connection.close()
            }
        }
    }
}
