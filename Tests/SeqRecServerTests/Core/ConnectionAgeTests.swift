// `--max-connection-age-s` in the server core (docs/DEPLOY.md, issue 14.3): a connection older than
// its jittered age gets GOAWAY OK, what it sent before is still answered, later requests are refused
// NOT_PROCESSED (so a client retries them on a new connection), and it closes once idle. In memory,
// with the fake clock of EmbeddedServer.
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite struct ConnectionAgeTests {
    private func server(age seconds: Int, jitter: Double = 1.0, idleMilliseconds: Int = 600_000) throws -> EmbeddedServer {
        let server = try EmbeddedServer(backends: [FakeBackend()]) {
            $0.maxConnectionAgeSeconds = seconds
            $0.idleTimeoutMilliseconds = idleMilliseconds
        }
        server.core.connectionAgeJitter = { jitter }
        return server
    }

    @Test func idleConnectionGetsGoAwayOKAtItsAgeAndCloses() throws {
        let server = try server(age: 10)
        let token = try server.handshaken()
        server.send(recommendFrame([1], id: 1), on: token)
        server.runDueBatches()
        #expect(try server.read(token).map(\.header.type) == [.recommendResponse])
        server.advance(milliseconds: 9_999)
        #expect(try server.read(token).isEmpty)
        #expect(!server.wasClosed(token))
        server.advance(milliseconds: 1)
        let frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.goAway])
        let goAway = try #require(try frames.first?.decode(GoAway.self))
        #expect(goAway.status == .ok)
        #expect(goAway.message.contains("maximum age"))
        #expect(frames.first?.header.aux == 1)
        #expect(server.wasClosed(token))
    }

    @Test func busyConnectionAnswersWhatItHasThenRefusesNewWorkNotProcessed() throws {
        let server = try server(age: 2)
        let token = try server.handshaken()
        // Deadlines of 5 s: both are still queued (not expired) when the age is reached at 2 s.
        server.send(recommendFrame([1], id: 1, timeoutMicroseconds: 5_000_000)
                    + recommendFrame([2], id: 2, timeoutMicroseconds: 5_000_000), on: token)
        server.advance(milliseconds: 2_000)
        var frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.goAway])
        #expect(!server.wasClosed(token))
        // A request the client sent before it read the GOAWAY: refused, safe to retry elsewhere.
        server.send(recommendFrame([3], id: 3), on: token)
        frames = try server.read(token)
        #expect(frames.map(\.header.requestID) == [3])
        #expect(frames.first?.header.flags.contains(.notProcessed) == true)
        #expect(try frames.first?.decode(ErrorBody.self).status == .unavailable)
        server.runDueBatches()
        frames = try server.read(token)
        #expect(frames.map(\.header.type) == [.recommendResponse, .recommendResponse])
        #expect(Set(frames.map(\.header.requestID)) == [1, 2])
        #expect(server.wasClosed(token))
    }

    @Test(arguments: [0.9, 1.1, 0.5, 2.0])
    func jitterStaysWithinTenPercent(factor: Double) throws {
        let server = try server(age: 100, jitter: factor)
        let token = try server.handshaken()
        let applied = min(1.1, max(0.9, factor))
        server.advance(milliseconds: UInt64(100_000 * applied) - 1)
        #expect(try server.read(token).isEmpty)
        server.advance(milliseconds: 1)
        #expect(try server.read(token).map(\.header.type) == [.goAway])
    }

    @Test func defaultJitterSpreadsDeadlinesOverNinetyToOneHundredTenPercent() throws {
        let server = try EmbeddedServer(backends: [FakeBackend()]) {
            $0.maxConnectionAgeSeconds = 100
            $0.maxConnections = 200
        }
        let opened = server.now
        var ages: [Double] = []
        for _ in 0..<100 {
            let token = try #require(server.connect())
            let deadline = try #require(server.core.machine(token)?.maxAgeDeadline)
            ages.append(Double(deadline - opened) / 1e9)
        }
        #expect(ages.allSatisfy { (90...110).contains($0) }, "\(ages.min()!)...\(ages.max()!)")
        // Spread, not one instant: the connections of a gateway do not all reconnect together.
        #expect(ages.max()! - ages.min()! > 5)
    }

    @Test func zeroMeansNoLimit() throws {
        let server = try server(age: 0)
        let token = try server.handshaken()
        #expect(server.core.machine(token)?.maxAgeDeadline == nil)
        server.advance(milliseconds: 500_000)
        #expect(try server.read(token).isEmpty)
        #expect(!server.wasClosed(token))
    }

    @Test func flagParsesValidatesAndPrints() throws {
        #expect(try ServerCommand.parse(arguments: ["--max-connection-age-s", "300"]).maxConnectionAgeSeconds == 300)
        #expect(try ServerCommand.parse(arguments: []).maxConnectionAgeSeconds == 0)
        #expect(throws: ServerCommandError.self) { try ServerCommand.parse(arguments: ["--max-connection-age-s", "-1"]) }
        #expect(throws: ServerCommandError.self) { try ServerCommand.parse(arguments: ["--max-connection-age-s", "2000001"]) }
        var configuration = ServerConfiguration()
        configuration.maxConnectionAgeSeconds = 42
        let printed = try #require(configuration.settings(tokenFile: nil)["max-connection-age-s"])
        #expect(String(describing: printed).contains("42"))
    }
}
