// `seqrec serve`: the process-wide settings a server needs are made here, in the executable, never
// in library code: the open-file limit and the SIGTERM/SIGINT dispositions that start the drain.
import Dispatch
import Foundation
import Glibc
import SeqRecPosix
import SeqRecServer

enum ServeCommand {
    /// Serves until SIGTERM/SIGINT has drained the server. Errors (bad model file, port in use) are
    /// thrown before the ready line.
    static func run(_ configuration: ServerConfiguration) throws {
        let descriptors = ProcessResources.raiseOpenFileLimit()
        let server = try Server.load(configuration: configuration)
        let delay = configuration.drainDelayMilliseconds
        let grace = configuration.drainGraceMilliseconds
        let signals = SignalDrain { number in
            printLine("seqrec serve: signal \(number): draining (health NOT_SERVING, GOAWAY in \(delay) ms, "
                + "exit at the latest \(grace) ms later; a second signal stops at once)")
            server.drain()
        }
        defer { withExtendedLifetime(signals) {} }
        printLine(server.readyLine)
        if descriptors < UInt64(configuration.maxConnections) + 64 {
            printLine("seqrec serve: warning: only \(descriptors) open files allowed; --max-connections "
                + "\(configuration.maxConnections) cannot all be accepted (raise ulimit -n)")
        }
        try server.run()
        printLine(server.stoppedLine)
    }

    /// Writes a line to stdout at once, even when stdout is a pipe (tests and supervisors wait for it).
    private static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Routes SIGTERM and SIGINT to `handler` until released. Dispatch signal sources run the handler on
/// a normal thread, so it may do more than async-signal-safe calls.
private final class SignalDrain {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        sources = [SIGTERM, SIGINT].map { number in
            // The default action would kill the process before the drain could run.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
        // Back to the default actions, so the process can be interrupted again afterwards.
        for number in [SIGTERM, SIGINT] { signal(number, SIG_DFL) }
    }
}
