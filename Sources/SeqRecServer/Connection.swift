// One client connection as the event loop sees it: the shared frame decoder, the bytes waiting
// to be written (with a cap against slow readers), the ids of its requests in flight, and the
// timer that closes a connection whose frame does not arrive in time.
import SeqRecProtocol

package final class Connection {
    package enum Phase {
        /// Reading and answering requests.
        case open
        /// GOAWAY (graceful) sent: new requests are refused, the rest finish, then close.
        case goingAway
        /// The peer finished sending (EOF): answer what is in flight, then close.
        case peerClosed
        /// Write what is buffered (a fatal GOAWAY), then close without reading.
        case closing
    }

    package let fd: Int32
    package let token: ConnectionToken
    package var decoder: FrameDecoder
    package var phase = Phase.open
    /// Request id → request-pool slot of every RECOMMEND this connection has queued or running.
    package var inFlight: [UInt32: Int] = [:]
    /// The id of the last request accepted, reported in GOAWAY.
    package var lastRequestID: UInt32 = 0
    /// Monotonic time at which the frame now arriving must be complete; nil when between frames.
    package var frameDeadline: UInt64?
    /// Monotonic time of the last complete frame received (or of the accept).
    package var lastActivity: UInt64 = 0
    /// Whether EPOLLOUT is currently requested.
    package var watchingWritable = false
    /// Whether the connection is already listed for a flush at the end of the loop round.
    package var flushPending = false

    private(set) package var output: [UInt8] = []
    private var outputStart = 0

    package init(fd: Int32, token: ConnectionToken, limits: ProtocolLimits, maxInFlight: Int) {
        self.fd = fd
        self.token = token
        decoder = FrameDecoder(role: .server, limits: limits)
        inFlight.reserveCapacity(maxInFlight)
        output.reserveCapacity(16 * 1_024)
    }

    /// Bytes encoded and not yet accepted by the kernel.
    package var pendingOutputCount: Int { output.count - outputStart }

    /// Appends frames to the output buffer through `encode`.
    package func write(_ encode: (inout [UInt8]) -> Void) {
        encode(&output)
    }

    /// Writes as much buffered output as the socket takes. Returns false when the socket failed.
    package func flush() -> Bool {
        while outputStart < output.count {
            let result: IOResult
            do {
                result = try output.withUnsafeBytes { bytes throws(SystemError) in
                    // safe: outputStart < output.count, so the slice is inside the buffer.
                    try System.write(fd, from: UnsafeRawBufferPointer(rebasing: bytes[outputStart...]))
                }
            } catch {
                return false
            }
            switch result {
            case .transferred(let count): outputStart += count
            case .wouldBlock: return true
            case .endOfFile: return false
            }
        }
        output.removeAll(keepingCapacity: true)
        outputStart = 0
        return true
    }

    /// Drops already-written bytes from the front once they are the larger part of the buffer.
    package func compactOutput() {
        guard outputStart > 0, outputStart >= output.count / 2 else { return }
        output.removeSubrange(0..<outputStart)
        outputStart = 0
    }

    /// Whether the connection has nothing left to do before it may be closed gracefully.
    package var isIdle: Bool { inFlight.isEmpty && pendingOutputCount == 0 }
}
