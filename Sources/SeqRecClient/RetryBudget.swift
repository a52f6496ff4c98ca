// A retry budget (as in Finagle and gRPC retry throttling): retries may add at most `ratio` extra
// requests on top of the calls made, plus a small reserve for quiet periods, so a failing fleet is
// not hit by a retry storm of maxAttempts × the load.
import Synchronization

public struct RetryBudget: Sendable, Equatable {
    /// Extra requests allowed per call made (0.1 = at most ~10 % extra).
    public private(set) var ratio: Double
    /// Retries allowed even without recent calls: the bucket's starting balance and its size (at
    /// least 1), so healthy periods do not save up a storm.
    public private(set) var reserve: Double

    /// Values are clamped to 0…100 (ratio) and 0…1,000,000 (reserve); NaN counts as 0.
    public init(ratio: Double = 0.1, reserve: Double = 10) {
        self.ratio = ratio.isNaN ? 0 : min(max(0, ratio), 100)
        self.reserve = reserve.isNaN ? 0 : min(max(0, reserve), 1_000_000)
    }
}

/// The running balance of a `RetryBudget`: each call deposits `ratio`, each retry withdraws 1. Counted
/// in thousandths of a retry, so ten deposits of 0.1 make exactly one.
final class RetryAccount: Sendable {
    private static let unit = 1_000
    private let perCall: Int
    private let capacity: Int
    private let balance: Mutex<Int>

    init(_ budget: RetryBudget) {
        perCall = Int((budget.ratio * Double(Self.unit)).rounded())
        capacity = max(Self.unit, Int((budget.reserve * Double(Self.unit)).rounded()))
        balance = Mutex(Int((budget.reserve * Double(Self.unit)).rounded()))
    }

    /// A call is being made (its first attempt).
    func deposit() {
        balance.withLock { $0 = min(capacity, $0 + perCall) }
    }

    /// True (and the retry is paid for) when the budget allows one more retry.
    func withdraw() -> Bool {
        balance.withLock { balance in
            guard balance >= Self.unit else { return false }
            balance -= Self.unit
            return true
        }
    }
}
