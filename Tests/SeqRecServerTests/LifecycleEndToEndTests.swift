// Issue 13 end to end against a real `seqrec serve` process with real model files: repository
// discovery under a version policy, SIGHUP, a corrupt version refused while the old one serves
// (log line and metric), traffic split and rollback over the admin port with curl, and the split
// surviving a crash (SIGKILL) and restart through --state-dir.
import Foundation
import SeqRecProtocol
import SeqRecTestSupport
import Testing

@Suite(.serialized) struct LifecycleEndToEndTests {
    private let model = PackagePaths.model("sasrec-ml100k")

    private func place(_ repository: String, _ version: Int, corrupt: Bool = false) throws {
        let directory = "\(repository)/shop/\(version)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        if corrupt { for index in (bytes.count / 2)..<(bytes.count / 2 + 64) { bytes[index] ^= 0x5A } }
        // Written beside and renamed in, as a deployment should: a reload never sees half a file.
        try bytes.write(to: URL(fileURLWithPath: directory + "/.model.seqrec.partial"))
        try FileManager.default.moveItem(atPath: directory + "/.model.seqrec.partial", toPath: directory + "/model.seqrec")
    }

    /// (binary port, admin port) from the `ready` line.
    private func ports(_ child: ServeProcess) throws -> (UInt16, UInt16) {
        try #require(child.ports(), "the server never logged ready")
    }

    private func servedVersion(_ port: UInt16, key: String = "") throws -> String {
        let client = try RawClient(port: port)
        try client.handshake()
        try client.send(RecommendRequest(session: .internal([1, 2, 3]), k: 3, modelName: "shop").frameBytes(requestID: 1))
        return try answer(try #require(try client.nextFrame()))
    }

    @Test func discoverySighupCorruptVersionSplitRollbackAndRestart() throws {
        guard curlIsInstalled() else { return }
        let root = NSTemporaryDirectory() + "seqrec-lifecycle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let repository = root + "/models", state = root + "/state"
        try place(repository, 1)
        let arguments = ["--model-repository", repository, "--version-policy", "shop=latest:2", "--state-dir", state,
                         "--port", "0", "--admin-port", "0", "--log-format", "json", "--workers", "1", "--drain-delay-ms", "0"]
        var child = try ServeProcess(arguments)
        defer { child.stop() }
        var (port, admin) = try ports(child)
        #expect(try servedVersion(port) == "shop@1")

        // SIGHUP picks up version 2; the default moves to the newest.
        try place(repository, 2)
        child.signal(SIGHUP)
        let loaded = child.waitFor("model_loaded", count: 2)
        #expect(loaded.last?["version"] as? Int == 2)
        #expect(try servedVersion(port) == "shop@2")
        let (_, listed) = try curlJSON(admin, "/v1/models")
        #expect((listed["models"] as? [[String: Any]])?.map { $0["version"] as? Int } == [1, 2])

        // A corrupt version 3 is refused; version 2 keeps serving.
        try place(repository, 3, corrupt: true)
        let (status, report) = try curlJSON(admin, "/v1/repository/reload", method: "POST")
        #expect(status == 200)
        let refused = (report["refused"] as? [[String: Any]])?.first
        #expect(refused?["version"] as? Int == 3 && refused?["reason"] as? String == "corrupt", "\(report)")
        #expect(child.waitFor("model_version_refused").first?["version"] as? Int == 3)
        #expect(try servedVersion(port) == "shop@2")
        let (_, metrics) = try curl(admin, "/metrics")
        #expect(metrics.contains("seqrec_model_versions_refused_total 1"))

        // A split, acknowledged, then a crash: it is still there after the restart.
        let (putStatus, split) = try curlJSON(admin, "/v1/models/shop/traffic", method: "PUT",
                                              body: #"{"versions": {"1": 50, "2": 50}, "default": 1}"#)
        #expect(putStatus == 200 && split["default"] as? Int == 1, "\(split)")
        #expect(try servedVersion(port) == "shop@1", "a request without a session key takes the pinned default")
        child.signal(SIGKILL)
        child.process.waitUntilExit()
        child = try ServeProcess(arguments)
        (port, admin) = try ports(child)
        let (_, restored) = try curlJSON(admin, "/v1/models/shop/traffic")
        #expect(restored["versions"] as? [String: Int] == ["1": 50, "2": 50], "\(restored)")
        #expect(restored["default"] as? Int == 1 && restored["loaded"] as? [Int] == [1, 2])
        #expect(try servedVersion(port) == "shop@1")

        // Rollback: the routing before the split (newest version, unpinned), then the one before the reload.
        let (rollbackStatus, back) = try curlJSON(admin, "/v1/models/shop/rollback", method: "POST")
        #expect(rollbackStatus == 200 && (back["versions"] as? [String: Int])?.isEmpty == true && back["default"] as? Int == 2)
        #expect(try servedVersion(port) == "shop@2")
        let (_, pinned) = try curlJSON(admin, "/v1/models/shop/rollback", method: "POST")
        #expect(pinned["default"] as? Int == 1 && pinned["default_pinned"] as? Bool == true)
        let (emptyStatus, _) = try curlJSON(admin, "/v1/models/shop/rollback", method: "POST")
        #expect(emptyStatus == 400)
        let (badStatus, bad) = try curlJSON(admin, "/v1/models/shop/traffic", method: "PUT", body: #"{"versions": {"7": 1}}"#)
        #expect(badStatus == 400 && (bad["message"] as? String)?.contains("no version 7") == true, "\(bad)")
        let (methodStatus, _) = try curlJSON(admin, "/v1/models/shop/rollback")
        #expect(methodStatus == 405)
    }
}
