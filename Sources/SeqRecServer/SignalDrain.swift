// SIGTERM and SIGINT start the drain sequence (a second signal stops at once). Dispatch signal
// sources run the handler on a normal thread, so it may do more than async-signal-safe calls.
import Dispatch
import Glibc

package final class SignalDrain {
    private let sources: [any DispatchSourceSignal]

    /// Routes SIGTERM and SIGINT to `server.drain()` until this object is released; `announce`
    /// hears each signal first.
    package init(server: Server, announce: (@Sendable (Int32) -> Void)? = nil) {
        sources = [SIGTERM, SIGINT].map { number in
            // The default action would kill the process before the drain could run.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak server] in
                announce?(number)
                server?.drain()
            }
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
