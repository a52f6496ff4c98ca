// Issue 14: the Python client's failover part agrees with the Swift client's routing, and its own
// suite (Clients/python/test_seqrec_pool.py: rendezvous, retry budget, back-off, failover against
// fake replicas) runs with the Swift tests so CI runs it.
import Foundation
import SeqRecProtocol
import Testing
@testable import SeqRecClient
@testable import SeqRecServer

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

    /// `--max-connection-age-s 1`: the Swift client's connections are replaced about every second
    /// (GOAWAY OK) while it keeps calling, and no call fails.
    @Test func swiftClientRidesThroughMaximumAgeGoAways() async throws {
        let server = try TestServer(backends: [FakeBackend()]) { $0.maxConnectionAgeSeconds = 1 }
        defer { server.stop() }
        var configuration = SeqRecClient.Configuration()
        configuration.connectionsPerEndpoint = 1
        let client = try SeqRecClient(endpoints: [.init(port: server.port)], configuration: configuration)
        defer { client.close() }
        var connections = Set<Int32>()
        let start = ContinuousClock.now
        var calls = 0
        while ContinuousClock.now - start < .milliseconds(3_500) {
            _ = try await client.recommend(RecommendRequest(session: .internal([UInt32(calls % 50 + 1)]), k: 1),
                                           sessionKey: "s", timeout: .seconds(10))
            calls += 1
            for thread in client.connectionThreads { connections.insert(thread.id) }
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(calls > 100)
        // Ages of 0.9...1.1 s over 3.5 s: at least 3 connections, every call answered.
        #expect(connections.count >= 3, "\(connections.count) connections over \(calls) calls")
    }

    @Test(.enabled(if: ClientTests.python != nil, "needs python3 (present on CI)"))
    func pythonFailoverClientUnitTests() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(ClientTests.python))
        process.arguments = ["-m", "unittest", "test_seqrec_pool"]
        process.currentDirectoryURL = URL(fileURLWithPath: DefaultModel.packageRoot + "/Clients/python")
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let report = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(report)")
        #expect(report.contains("OK"), "\(report)")
    }
}
