// The byte pipe under a client connection. The socket transport is the only implementation with
// I/O; tests use an in-memory one, so everything above this line runs without sockets or sleeps.

/// Moves bytes between a `ConnectionCore` and the server. Implementations never block the caller of
/// `write`, `wake` or `close`, and report to the core from their own thread (or the test's).
package protocol ClientTransport: AnyObject, Sendable {
    /// Starts connecting. Then reports `core.transportConnected()` once, `core.transportReceived(_:)`
    /// for incoming bytes, `core.tick()` when `core.nextDeadline` has passed, and
    /// `core.transportClosed(_:)` exactly once at the end (also after `close()`).
    func start(_ core: ConnectionCore)
    /// Queues bytes for sending, in call order, without blocking.
    func write(_ bytes: [UInt8])
    /// `core.nextDeadline` moved earlier: re-read it.
    func wake()
    /// Ends the connection; the transport then reports `transportClosed`.
    func close()
}
