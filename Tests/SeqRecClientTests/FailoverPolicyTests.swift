// The pure parts of SeqRecClient's failover: rendezvous order, the retry budget, which errors are
// retried, and the budget bounding a failing fleet's extra load (connections made in memory).
import SeqRecProtocol
import Synchronization
import Testing
@testable import SeqRecClient

@Suite struct FailoverPolicyTests {
    static let endpoints = ["10.0.0.1:7878", "10.0.0.2:7878", "10.0.0.3:7878", "[::1]:7878"]

    @Test func rendezvousOrderIsAFixedPermutationPerKey() {
        for index in 0..<200 {
            let key = "session-\(index)"
            let order = Rendezvous.order(key: key, endpoints: Self.endpoints)
            #expect(order.sorted() == Array(Self.endpoints.indices))
            #expect(Rendezvous.order(key: key, endpoints: Self.endpoints) == order)
        }
        // Fixed across processes and releases (not Swift's seeded Hasher): pinned values.
        #expect(Rendezvous.fnv1a("a".utf8, seed: 0xcbf2_9ce4_8422_2325) == 0xaf63_dc4c_8601_ec8c)
        #expect(Rendezvous.mix(0) == 0xe220_a839_7b1d_cdaf)
    }

    @Test func keysSpreadEvenlyAndRemovingAReplicaMovesOnlyItsKeys() {
        let keys = (0..<4_000).map { "session-\($0)" }
        let first = keys.map { Rendezvous.order(key: $0, endpoints: Self.endpoints)[0] }
        let counts = Dictionary(grouping: first, by: { $0 }).mapValues(\.count)
        // 1,000 expected per replica; ±15 % is > 9 standard deviations.
        #expect(counts.count == 4 && counts.values.allSatisfy { (850...1_150).contains($0) }, "\(counts)")
        // Drop replica 2: its keys go to their second choice, every other key stays.
        let remaining = [Self.endpoints[0], Self.endpoints[1], Self.endpoints[3]]
        for (key, before) in zip(keys, first) {
            let after = Self.endpoints.firstIndex(of: remaining[Rendezvous.order(key: key, endpoints: remaining)[0]])!
            if before == 2 {
                #expect(after == Rendezvous.order(key: key, endpoints: Self.endpoints)[1])
            } else {
                #expect(after == before, "key \(key) moved although its replica stayed")
            }
        }
    }

    @Test func theRetryBudgetAllowsTheReserveThenTheRatio() {
        let account = RetryAccount(RetryBudget(ratio: 0.1, reserve: 3))
        #expect((0..<3).allSatisfy { _ in account.withdraw() })
        #expect(!account.withdraw())
        for _ in 0..<9 { account.deposit() }
        #expect(!account.withdraw(), "0.9 of a retry earned, not 1")
        account.deposit()
        #expect(account.withdraw())
        #expect(!account.withdraw())
        // Healthy periods do not save up more than the reserve.
        for _ in 0..<1_000 { account.deposit() }
        #expect((0..<3).allSatisfy { _ in account.withdraw() })
        #expect(!account.withdraw())
    }

    @Test func onlyErrorsThatAreSafeToRepeatAreRetried() {
        typealias Rule = SeqRecClient.RetryRule
        #expect(SeqRecClient.retryRule(for: SeqRecError(.invalidRequest, "k", notProcessed: true)) == Rule.never)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.deadlineExceeded, "late")) == Rule.never)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.server(.notFound), "no model")) == Rule.never)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.server(.resourceExhausted), "full", notProcessed: true)) == Rule.notProcessed)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.server(.unavailable), "draining", notProcessed: true)) == Rule.notProcessed)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.connection, "refused", notProcessed: true)) == Rule.endpointFailed)
        #expect(SeqRecClient.retryRule(for: SeqRecError(.connection, "lost")) == Rule.endpointFailed)
    }

    @Test func theBudgetBoundsTheExtraLoadOfAFailingFleet() async throws {
        let connects = ConnectLog()
        var configuration = SeqRecClient.Configuration()
        configuration.maxAttempts = 5
        configuration.initialBackoff = .zero
        configuration.maximumBackoff = .zero
        let client = try SeqRecClient(
            endpoints: [.init(port: 1), .init(port: 2)], configuration: configuration, clock: ManualClock().function
        ) { _ in
            connects.record(0)
            throw SeqRecError(.connection, "connection refused", notProcessed: true)
        }
        let calls = 200
        for index in 0..<calls {
            await #expect(throws: SeqRecError.self) {
                try await client.recommend(RecommendRequest(session: .internal([1])), sessionKey: "s\(index)")
            }
        }
        // Without a budget: 5 attempts per call = 1,000 connects. With it: one per call, plus the
        // reserve (10) and 10 % of the calls (20).
        let made = connects.ports.count
        #expect(made >= calls && made <= calls + 10 + calls / 10, "\(made) connects for \(calls) calls")
    }

    @Test func aFailedReplicaIsSkippedUntilItsBackOffPasses() async throws {
        let clock = ManualClock()
        let attempts = ConnectLog()
        var configuration = SeqRecClient.Configuration()
        configuration.maxAttempts = 2
        configuration.initialBackoff = .seconds(1)
        configuration.maximumBackoff = .seconds(8)
        let endpoints: [SeqRecClient.Endpoint] = [.init(port: 1), .init(port: 2)]
        let client = try SeqRecClient(endpoints: endpoints, configuration: configuration, clock: clock.function) { endpoint in
            attempts.record(endpoint.port)
            throw SeqRecError(.connection, "connection refused", notProcessed: true)
        }
        let key = (0...).lazy.map { "k\($0)" }.first { Rendezvous.order(key: $0, endpoints: endpoints.map(\.description))[0] == 0 }!
        await #expect(throws: SeqRecError.self) { try await client.recommend(RecommendRequest(session: .internal([1])), sessionKey: key) }
        #expect(attempts.ports == [1, 2])
        #expect(client.healthyEndpoints.isEmpty)
        // Both backed off (0.5–1 s): the preferred one is still tried first, as a last resort.
        clock.advance(by: .milliseconds(400))
        await #expect(throws: SeqRecError.self) { try await client.recommend(RecommendRequest(session: .internal([1])), sessionKey: key) }
        #expect(attempts.ports == [1, 2, 1, 2])
        // The second failure doubles the back-off (1–2 s); after 2 s both are probed again.
        clock.advance(by: .milliseconds(999))
        #expect(client.healthyEndpoints.isEmpty)
        clock.advance(by: .milliseconds(1_100))
        #expect(client.healthyEndpoints == endpoints)
    }
}

/// The endpoints a test's connect function was asked for, in order.
final class ConnectLog: Sendable {
    private let log = Mutex<[UInt16]>([])
    func record(_ port: UInt16) { log.withLock { $0.append(port) } }
    var ports: [UInt16] { log.withLock { $0 } }
}
