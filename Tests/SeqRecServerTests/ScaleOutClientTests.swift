// Issue 14: the Python client's failover part agrees with the Swift client's routing, and its own
// suite (Clients/python/test_seqrec_pool.py: rendezvous, retry budget, back-off, failover against
// fake replicas) runs with the Swift tests so CI runs it.
import Foundation
@testable import SeqRecClient
import SeqRecTestSupport
import Testing

@Suite struct ScaleOutClientTests {
    /// The vectors Clients/python/test_seqrec_pool.py checks (SWIFT_VECTORS): a gateway written in
    /// either language sends a session to the same replica.
    @Test(arguments: [
        ("session-1", ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], [1, 2, 0]),
        ("session-2", ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], [1, 0, 2]),
        ("", ["a:1", "b:2"], [0, 1]),
        ("kundin-ä", ["[::1]:7878", "10.0.0.2:7878", "10.0.0.3:7878", "10.0.0.4:7878"], [2, 1, 0, 3]),
    ])
    func rendezvousOrderMatchesThePythonClient(key: String, endpoints: [String], expected: [Int]) {
        #expect(Rendezvous.order(key: key, endpoints: endpoints) == expected)
    }

    @Test func endpointNamesAreWhatTheHashUses() {
        #expect(SeqRecClient.Endpoint(host: "::1", port: 7878).description == "[::1]:7878")
        #expect(SeqRecClient.Endpoint(host: "10.0.0.2", port: 7878).description == "10.0.0.2:7878")
    }

    @Test(.enabled(if: ClientTests.python != nil, "needs python3 (present on CI)"))
    func pythonFailoverClientUnitTests() throws {
        let run = try ClientTests.pythonClientSuite("test_seqrec_pool")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("OK"), "\(run.stderr)")
    }
}
