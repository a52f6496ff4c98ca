// Rate limit for logs a bad client can cause (bad frames, bad HTTP): at most `burst` lines per
// `interval`; what is dropped is counted and reported with the next line that goes out, so a
// flood costs a few lines, not a full disk.
import Synchronization

public final class LogRateLimiter: Sendable {
    private let burst: Int
    private let intervalNanoseconds: UInt64
    private let state = Mutex<(windowStart: UInt64, sent: Int, suppressed: Int)>((0, 0, 0))

    public init(burst: Int = 5, intervalSeconds: Double = 60) {
        self.burst = max(1, burst)
        intervalNanoseconds = UInt64(max(0.001, intervalSeconds) * 1e9)
    }

    /// nil: drop this line. Otherwise log it, with the number of lines dropped since the last one.
    public func admit(now: UInt64) -> Int? {
        state.withLock { state in
            if now &- state.windowStart >= intervalNanoseconds || state.windowStart == 0 {
                state.windowStart = now
                state.sent = 0
            }
            guard state.sent < burst else {
                state.suppressed += 1
                return nil
            }
            state.sent += 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
    }
}

/// Which finished requests get a log line (`--log-requests`).
public enum RequestLogPolicy: Sendable, Equatable {
    case off
    case errors
    case all
    /// One request in N (by request count), plus every error.
    case sample(Int)

    public init?(_ text: String) {
        switch text {
        case "off": self = .off
        case "errors": self = .errors
        case "all": self = .all
        default:
            guard text.hasPrefix("sample:"), let n = Int(text.dropFirst(7)), n >= 1 else { return nil }
            self = .sample(n)
        }
    }

    public var name: String {
        switch self {
        case .off: "off"
        case .errors: "errors"
        case .all: "all"
        case .sample(let n): "sample:\(n)"
        }
    }

    /// Whether the `ordinal`-th finished request (counting from 0) with `failed` gets a line.
    public func shouldLog(ordinal: UInt64, failed: Bool) -> Bool {
        switch self {
        case .off: false
        case .errors: failed
        case .all: true
        case .sample(let n): failed || ordinal % UInt64(n) == 0
        }
    }
}
