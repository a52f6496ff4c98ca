// Issue 15 items 1–2 against a real `seqrec serve`: an attribute file filters from the first request,
// a PATCH is visible to the very next request, and an acknowledged PATCH survives `kill -9` right after
// its answer (replayed from --state-dir at the next start). Also the endpoints' bad input.
import Foundation
import Glibc
import SeqRecTestSupport
import Testing

@Suite(.serialized) struct ItemAttributesEndToEndTests {
    static let model = "sasrec-ml100k"

    /// Internal ids of a JSON recommend answer.
    func recommend(_ adminPort: UInt16, body: String = "{\"session\":[1,50,100],\"k\":10}") throws -> [Int] {
        let (status, text) = try curl(adminPort, "/v1/models/\(Self.model)/recommend", method: "POST", body: body)
        #expect(status == 200, "\(text)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try #require(json["items"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
    }

    func start(_ arguments: [String]) throws -> (ServeProcess, UInt16) {
        let server = try ServeProcess(["--model", "Models/\(Self.model).seqrec", "--port", "0", "--admin-port", "0",
                                       "--log-format", "json", "--workers", "1", "--drain-delay-ms", "0"] + arguments)
        let ready = try #require(server.event("ready"), "no ready line; stderr: \(server.stderrLines)")
        return (server, UInt16(try #require(ready["admin_port"] as? Int)))
    }

    @Test func acknowledgedUpdatesSurviveKillNine() throws {
        guard curlIsInstalled() else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-items-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Without attributes: the plain answer.
        var (server, adminPort) = try start([])
        let plain = try recommend(adminPort)
        #expect(try curl(adminPort, "/v1/models/\(Self.model)/items", method: "PATCH", body: "{\"updates\":[]}").0 == 400,
                "no --state-dir: updates are refused (FAILED_PRECONDITION), never acknowledged without durability")
        server.stop()

        // The file marks the plain answer's first item unavailable (by its external id, read back by GET).
        let arguments = ["--state-dir", directory + "/state", "--item-attributes", "\(Self.model)=\(directory)/items.jsonl"]
        try "\n".write(toFile: directory + "/items.jsonl", atomically: true, encoding: .utf8)
        (server, adminPort) = try start(arguments)
        let (getStatus, getBody) = try curl(adminPort, "/v1/models/\(Self.model)/items/%23\(plain[0])")
        #expect(getStatus == 200, "\(getBody)")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(getBody.utf8)) as? [String: Any])
        let token = try #require(first["id"] as? String)
        #expect(first["available"] as? Bool == true && first["internal_id"] as? Int == plain[0])
        server.stop()
        try "{\"id\": \"\(token)\", \"available\": false, \"categories\": [\"Drama\"]}\n"
            .write(toFile: directory + "/items.jsonl", atomically: true, encoding: .utf8)
        (server, adminPort) = try start(arguments)
        let filtered = try recommend(adminPort)
        #expect(!filtered.contains(plain[0]) && filtered == Array((plain.dropFirst() + [filtered.last!]).prefix(10)))

        // PATCH the second item out (internal id as a number), then kill -9 at once.
        let (patchStatus, patchBody) = try curl(adminPort, "/v1/models/\(Self.model)/items", method: "PATCH",
                                                body: "{\"updates\":[{\"id\":\(plain[1]),\"available\":false,\"expires_at\":\"2030-01-01T00:00:00Z\"}]}")
        #expect(patchStatus == 200 && patchBody.trimmingCharacters(in: .whitespacesAndNewlines) == "{\"applied\":1}", "\(patchBody)")
        #expect(!(try recommend(adminPort)).contains(plain[1]), "visible to the very next request")
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .uncaughtSignal)

        (server, adminPort) = try start(arguments)
        defer { server.stop() }
        let replayed = try recommend(adminPort)
        #expect(!replayed.contains(plain[0]) && !replayed.contains(plain[1]), "\(replayed)")
        let (status, body) = try curl(adminPort, "/v1/models/\(Self.model)/items/%23\(plain[1])")
        #expect(status == 200 && body.contains("\"available\":false") && body.contains("\"expires_at\":\"2030-01-01T00:00:00Z\""), "\(body)")
        #expect(try curl(adminPort, "/v1/models/\(Self.model)/items/\(token)").1.contains("\"categories\":[\"Drama\"]"))

        // Bad input: typed errors naming the field; nothing applied.
        for (text, code, fragment) in [
            ("{\"updates\":[{\"id\":\(plain[2]),\"available\":false},{\"id\":\"no such item\"}]}", 404, "updates[1].id"),
            ("{\"updates\":[{\"id\":\(plain[2]),\"availabel\":false}]}", 400, "updates[0].availabel: unknown field"),
            ("{\"updates\":[{\"id\":0}]}", 404, "internal id 0"),
            ("{\"updates\":", 400, "end of input"),
        ] {
            let (status, body) = try curl(adminPort, "/v1/models/\(Self.model)/items", method: "PATCH", body: text)
            #expect(status == code && body.contains(fragment), "\(text) → \(status) \(body)")
        }
        #expect(try recommend(adminPort).contains(plain[2]), "a refused batch changes nothing")
        #expect(try curl(adminPort, "/v1/models/nope/items", method: "PATCH", body: "{\"updates\":[]}").0 == 404)
        #expect(try curl(adminPort, "/v1/models/\(Self.model)/items", method: "GET").0 == 405)
        #expect(try curl(adminPort, "/v1/models/\(Self.model)/items/%23x").0 == 400)
    }
}
