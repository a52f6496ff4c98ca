// A retry budget (as in Finagle and gRPC retry throttling): retries may add at most `ratio` extra
// requests on top of the calls made, plus a small reserve for quiet periods, so a failing fleet is
// not hit by a retry storm of maxAttempts × the load.
import Synchronization

public struct RetryBudget: Sendable, Equatable {
    /// Extra requests allowed per call made (0.1 = at most ~10 % extra).
    public var ratio: Double
    /// Retries allowed even without recent calls: the bucket's starting balance and its size (at
    /// least 1), so healthy periods do not save up a storm.
    public var reserve: Double

    public init(ratio: Double = 0.1, reserve: Double = 10) {
        self.ratio = max(0, ratio)
        self.reserve = max(0, reserve)
    }
}

/// The running balance of a `RetryBudget`: each call deposits `ratio`, each retry withdraws 1.
final class RetryAccount: Sendable {
    private let budget: RetryBudget
    private let balance: Mutex<Double>

    init(_ budget: RetryBudget) {
        self.budget = budget
        balance = Mutex(budget.reserve)
    }

    /// A call is being made (its first attempt).
    func deposit() {
        balance.withLock { $0 = min(max(budget.reserve, 1), $0 + budget.ratio) }
    }

    /// True (and the retry is paid for) when the budget allows one more retry.
    func withdraw() -> Bool {
        balance.withLock { balance in
            guard balance >= 1 else { return false }
            balance -= 1
            return true
        }
    }
}
