// SIGTERM and SIGINT start the drain sequence (a second signal stops at once). Dispatch signal
// sources run the handler on a normal thread, so it may do more than async-signal-safe calls.
import Dispatch
import Glibc

package final class SignalDrain {
    private let sources: [any DispatchSourceSignal]

    /// Routes SIGTERM and SIGINT to `server.drain()` until this object is released.
    package init(server: Server) {
        sources = [SIGTERM, SIGINT].map { number in
            // The default action would kill the process before the drain could run.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak server] in server?.drain() }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
