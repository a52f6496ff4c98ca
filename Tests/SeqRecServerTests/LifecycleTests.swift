// The model lifecycle on a running server (sockets, threads), with fake versions opened from a
// real repository directory: reload under the version policy, requests in flight answered once by
// the version they started on, a refused version leaving the old one serving, traffic splits
// routed through the server and rolled back, and the released version dropped.
import Foundation
import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol
import Synchronization
import Testing
@testable import SeqRecServer

/// A temporary repository of empty model.seqrec markers; a marker reading "corrupt" makes the fake
/// opener refuse that version, as the real loader refuses a file whose checksums fail.
final class FakeRepository: @unchecked Sendable {
    let root: String
    /// Every fake the opener made, by "name@version".
    let opened = Mutex<[String: FakeBackend]>([:])
    /// Batch delay of the fakes the opener makes.
    let delayMicroseconds: UInt32
    /// The scheduling of the thread each open ran on, in order.
    let openedAt = Mutex<[ThreadScheduling?]>([])

    init(_ layout: [String: [UInt32]], delayMicroseconds: UInt32 = 0) throws {
        root = NSTemporaryDirectory() + "seqrec-repository-\(UUID().uuidString)"
        self.delayMicroseconds = delayMicroseconds
        for (name, versions) in layout { for version in versions { try add(name, version) } }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func add(_ name: String, _ version: UInt32, contents: String = "") throws {
        let directory = "\(root)/\(name)/\(version)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: directory + "/model.seqrec"))
    }

    func remove(_ name: String, _ version: UInt32) throws {
        try FileManager.default.removeItem(atPath: "\(root)/\(name)/\(version)")
    }

    var opener: @Sendable (String, String, UInt32) throws(VersionLoadError) -> LoadedVersion {
        { [self] path, name, version throws(VersionLoadError) in
            if String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) == "corrupt" {
                throw VersionLoadError(.corrupt, "\(path): checksum mismatch")
            }
            openedAt.withLock { $0.append(ThreadScheduling.current()) }
            let backend = FakeBackend(name: name, version: version, batchDelayMicroseconds: delayMicroseconds)
            opened.withLock { $0["\(name)@\(version)"] = backend }
            return LoadedVersion(backend: backend, warmWorkers: try VersionLoader.warm(backend, workers: 2, maxBatch: 8))
        }
    }

    func fake(_ key: String) -> FakeBackend? { opened.withLock { $0[key] } }
}

/// Answers of a raw client by request id: "name@version", or the error status name.
func answer(_ frame: Frame) throws -> String {
    if frame.header.type == .recommendResponse {
        let response = try frame.decode(RecommendResponse.self)
        return "\(response.modelName)@\(response.modelVersion)"
    }
    return try frame.decode(ErrorBody.self).status.name
}

@Suite(.serialized) struct LifecycleTests {
    private func server(_ repository: FakeRepository, initial: [FakeBackend],
                        _ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> TestServer {
        let server = try TestServer(backends: initial) {
            $0.modelRepository = repository.root
            $0.maxBatch = 8
            configure(&$0)
        }
        server.server.openVersion = repository.opener
        return server
    }

    private func reload(_ server: TestServer, model: String? = nil) throws -> LifecycleReport {
        try server.server.reloadRepository(model: model).get()
    }

    @Test func reloadServesWhatThePolicyWants() throws {
        let repository = try FakeRepository(["shop": [1, 2, 3], "other": [5], "notes": []])
        try FileManager.default.createDirectory(atPath: repository.root + "/shop/beta", withIntermediateDirectories: true)
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 1)]) {
            $0.versionPolicies = ["shop": .latest(2)]
        }
        defer { server.stop() }
        let report = try reload(server)
        #expect(Set(report.loaded) == ["shop@2", "shop@3", "other@5"])
        #expect(report.retired == ["shop@1"])
        #expect(report.refused.isEmpty)
        #expect(report.skipped.contains { $0.hasSuffix("shop/beta: not a version (versions are positive integers without leading zeros)") })
        let listed = server.server.monitor.withLock { server.server.core.models.descriptions() }
        #expect(listed.map { "\($0.name)@\($0.version)\($0.isDefault ? "*" : "")" } == ["shop@2", "shop@3*", "other@5"])
        // Nothing changed on disk: a second reload does nothing.
        let again = try reload(server)
        #expect(again.loaded.isEmpty && again.retired.isEmpty)
        // A model reload touches only that model.
        try repository.add("shop", 4)
        try repository.add("other", 6)
        let shopOnly = try reload(server, model: "shop")
        #expect(shopOnly.loaded == ["shop@4"] && shopOnly.retired == ["shop@2"])
        #expect(server.server.monitor.withLock { server.server.core.models.descriptions(named: "other").map(\.version) } == [5])
        #expect(throws: LifecycleFailure.self) { try reload(server, model: "nope") }
    }

    @Test func aPolicyThatSelectsNothingOnDiskUnloadsNothing() throws {
        let repository = try FakeRepository(["shop": [1, 2]])
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 2)]) {
            $0.versionPolicies = ["shop": .specific([7])]
        }
        defer { server.stop() }
        let report = try reload(server)
        #expect(report.loaded.isEmpty && report.retired.isEmpty)
        #expect(report.skipped.contains { $0.contains("policy specific:7 selects none of the versions on disk (1, 2)") })
        #expect(server.server.monitor.withLock { server.server.core.models.descriptions().map(\.version) } == [2])
    }

    @Test func requestsInFlightFinishOnTheirVersionAndTheOldVersionIsDropped() throws {
        let repository = try FakeRepository(["shop": [1]])
        weak var weakOld: FakeBackend?
        let server: TestServer
        do {
            let old = FakeBackend(name: "shop", version: 1)
            old.holdBatches.store(true, ordering: .releasing)
            weakOld = old
            server = try self.server(repository, initial: [old])
        }
        defer { server.stop() }
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([3], k: 2, id: 1, model: "shop"))
        while server.server.statistics.acceptedRequests == 0 { usleep(1_000) }
        try repository.add("shop", 2)
        try repository.remove("shop", 1)
        let report = try reload(server)
        #expect(report.loaded == ["shop@2"] && report.retired == ["shop@1"])
        try client.send(recommendFrame([3], k: 2, id: 2, model: "shop") + recommendFrame([3], k: 2, id: 3, model: "shop")
                        + RecommendRequest(session: .internal([3]), k: 2, modelName: "shop", modelVersion: 1).frameBytes(requestID: 4))
        var answers: [UInt32: [String]] = [:]
        for _ in 0..<3 {
            let frame = try #require(try client.nextFrame())
            answers[frame.header.requestID, default: []].append(try answer(frame))
        }
        #expect(answers == [2: ["shop@2"], 3: ["shop@2"], 4: ["NOT_FOUND"]], "new requests go to v2 while v1 still runs request 1")
        weakOld?.holdBatches.store(false, ordering: .releasing)
        let first = try #require(try client.nextFrame())
        #expect(first.header.requestID == 1)
        #expect(try answer(first) == "shop@1")
        // Released after its last request, dropped by the lifecycle thread.
        for _ in 0..<500 where weakOld != nil {
            server.server.lifecycle.waitUntilIdle()
            server.server.loader.waitUntilIdle()
            usleep(2_000)
        }
        #expect(weakOld == nil, "version 1 is unmapped once request 1 was answered")
        #expect(throws: (any Error).self, "no second answer to any request") { try client.nextFrame(timeoutMilliseconds: 200) }
    }

    @Test func versionsAreOpenedAndDroppedAtIdlePriorityAndPublishedAtNice10() throws {
        let repository = try FakeRepository(["shop": [1]])
        weak var weakOld: FakeBackend?
        let server: TestServer
        do {
            let old = FakeBackend(name: "shop", version: 1)
            weakOld = old
            server = try self.server(repository, initial: [old])
        }
        defer { server.stop() }
        try repository.add("shop", 2)
        try repository.remove("shop", 1)
        // As the endpoints and SIGHUP do: the reload job runs on the lifecycle thread.
        let report = Mutex<LifecycleReport?>(nil)
        let finished = DispatchSemaphore(value: 0)
        server.server.requestReload { outcome in
            report.withLock { $0 = try? outcome.get() }
            finished.signal()
        }
        finished.wait()
        #expect(report.withLock { $0?.loaded } == ["shop@2"])
        #expect(repository.openedAt.withLock { $0 } == [.idle], "opened and warmed on the SCHED_IDLE loader thread")
        #expect(server.server.lifecycle.perform { ThreadScheduling.current() } == .normal(nice: 10),
                "the thread that takes the server's lock is never SCHED_IDLE")
        #expect(server.server.loader.perform { ThreadScheduling.current() } == .idle)
        for _ in 0..<500 where weakOld != nil {
            server.server.loader.waitUntilIdle()
            usleep(2_000)
        }
        #expect(weakOld == nil, "the retired version (no request in flight) was dropped")
    }

    @Test func aCorruptVersionIsRefusedAndTheOldOneKeepsServing() throws {
        let repository = try FakeRepository(["shop": [1]])
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 1)])
        defer { server.stop() }
        try repository.add("shop", 2, contents: "corrupt")
        let report = try reload(server)
        #expect(report.loaded.isEmpty && report.retired.isEmpty)
        #expect(report.refused.map { "\($0.model)@\($0.version) \($0.reason)" } == ["shop@2 corrupt"])
        let client = try RawClient(port: server.port)
        try client.handshake()
        try client.send(recommendFrame([3], k: 2, id: 1, model: "shop"))
        #expect(try answer(try #require(try client.nextFrame())) == "shop@1")
        // Fixed on disk: the next reload takes it.
        try repository.add("shop", 2)
        #expect(try reload(server).loaded == ["shop@2"])
    }

    @Test func anIncompatibleVersionIsRefused() throws {
        let repository = try FakeRepository(["shop": [1]])
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 1)])
        defer { server.stop() }
        try repository.add("shop", 2)
        server.server.openVersion = { _, name, version throws(VersionLoadError) in
            LoadedVersion(backend: FakeBackend(name: name, version: version, hasVocabulary: false))
        }
        let report = try reload(server)
        #expect(report.refused.map(\.reason) == ["incompatible"])
        #expect(report.refused.first?.message.contains("vocabulary") == true)
        #expect(server.server.monitor.withLock { server.server.core.models.descriptions().map(\.version) } == [1])
    }

    @Test func reloadsUnderLoadAnswerEveryRequestExactlyOnce() throws {
        let repository = try FakeRepository(["shop": [1]], delayMicroseconds: 200)
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 1, batchDelayMicroseconds: 200)])
        defer { server.stop() }
        let connections = 4, perConnection = 400
        let failures = Mutex<[String]>([])
        let done = DispatchSemaphore(value: 0)
        for connection in 0..<connections {
            Thread {
                defer { done.signal() }
                do {
                    let client = try RawClient(port: server.port)
                    try client.handshake()
                    var seen: [UInt32: Int] = [:]
                    // Eight in flight at a time on each connection.
                    var next: UInt32 = 1
                    while next <= 8 { try client.send(recommendFrame([3], k: 2, id: next, model: "shop")); next += 1 }
                    while seen.count < perConnection {
                        let frame = try client.nextFrame(timeoutMilliseconds: 10_000)!
                        let id = frame.header.requestID
                        seen[id, default: 0] += 1
                        let text = try answer(frame)
                        if text != "shop@1" && text != "shop@2" || seen[id]! > 1 {
                            failures.withLock { $0.append("connection \(connection) request \(id): \(text) ×\(seen[id]!)") }
                        }
                        if next <= UInt32(perConnection) {
                            try client.send(recommendFrame([3], k: 2, id: next, model: "shop"))
                            next += 1
                        }
                    }
                } catch {
                    failures.withLock { $0.append("connection \(connection): \(error)") }
                }
            }.start()
        }
        // Versions 1 and 2 alternate while the clients run.
        var switches = 0
        for round in 0..<20 {
            if round % 2 == 0 { try repository.add("shop", 2) } else { try repository.remove("shop", 2) }
            let report = try reload(server)
            if !report.loaded.isEmpty || !report.retired.isEmpty { switches += 1 }
            #expect(report.refused.isEmpty)
            usleep(5_000)
        }
        for _ in 0..<connections { done.wait() }
        #expect(failures.withLock { $0 } == [])
        #expect(switches == 20)
        #expect(server.server.statistics.answeredRequests == connections * perConnection)
    }

    @Test func trafficSplitsRouteVersionZeroBySessionKeyAndRollBack() throws {
        let repository = try FakeRepository(["shop": [3, 4]])
        let server = try server(repository, initial: [FakeBackend(name: "shop", version: 3)]) {
            $0.versionPolicies = ["shop": .latest(2)]
        }
        defer { server.stop() }
        _ = try reload(server)
        let split = try server.server.setTraffic(model: "shop", TrafficUpdate(
            shares: [VersionShare(version: 3, weight: 90), VersionShare(version: 4, weight: 10)], defaultVersion: .pin(3))).get()
        #expect(split.shares.map(\.weight) == [90, 10] && split.defaultVersion == 3 && split.pinned && split.rollbackDepth == 2)
        let counts = server.server.monitor.withLock { () -> [UInt32: Int] in
            let models = server.server.core.models
            let shop = models.model(named: "shop")!
            var counts: [UInt32: Int] = [:]
            for key in 0..<10_000 {
                let slot = models.route(model: shop, sessionKey: Array("shopper-\(key)".utf8))!
                counts[models[slot].version, default: 0] += 1
            }
            return counts
        }
        #expect(abs(counts[3, default: 0] - 9_000) <= 300 && abs(counts[4, default: 0] - 1_000) <= 300, "\(counts)")
        // Refusals leave the routing as it was.
        #expect(throws: LifecycleFailure.self) {
            try server.server.setTraffic(model: "shop", TrafficUpdate(shares: [VersionShare(version: 9, weight: 1)])).get()
        }
        #expect(throws: LifecycleFailure.self) { try server.server.setTraffic(model: "nope", TrafficUpdate(shares: [])).get() }
        let back = try server.server.rollBack(model: "shop").get()
        #expect(back.shares.isEmpty && back.defaultVersion == 4 && !back.pinned, "the routing before the split")
        let again = try server.server.rollBack(model: "shop").get()
        #expect(again.shares.isEmpty && again.defaultVersion == 3 && again.pinned, "before the reload moved v3 to v4")
        #expect(throws: LifecycleFailure.self) { try server.server.rollBack(model: "shop").get() }
    }
}
