// Issue 12 "Done when", against a real `seqrec serve` with real curl and promtool (.ci/run
// installs both): probes (also during the drain: /readyz 503 while binary requests are still
// served, before GOAWAY), `promtool check metrics`, counters that move by exactly N for N
// requests (binary and JSON), JSON answers equal to the binary protocol's, the HTTP bad-input
// catalogue while the binary protocol keeps serving, and JSON log lines.
import Foundation
import SeqRecClient
@testable import SeqRecOperations
import SeqRecPosix
import SeqRecProtocol
import SeqRecTestSupport
import Testing

/// The value of one sample line of an exposition (0 when absent).
func sample(_ exposition: String, _ prefix: String) -> Double {
    for line in exposition.split(separator: "\n") where line.hasPrefix(prefix + " ") {
        return Double(line.split(separator: " ").last!) ?? .nan
    }
    return 0
}

@Suite(.serialized) struct ServeEndToEndTests {
    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: FileManager.default.isExecutableFile)

    @Test func probesMetricsCountersJSONAndDrain() async throws {
        guard curlIsInstalled() else { return }
        let server = try ServeProcess(["--model", "Models/sasrec-ml100k.seqrec", "--port", "0", "--admin-port", "0",
                                       "--log-format", "json", "--log-requests", "sample:3", "--workers", "1", "--state-cache-mb", "0",
                                       "--drain-delay-ms", "3000", "--drain-grace-ms", "2000"])
        defer { server.stop() }
        let ready = try #require(server.event("ready"), "no ready line; stderr: \(server.stderrLines)")
        let adminPort = UInt16(try #require(ready["admin_port"] as? Int))
        let port = UInt16(try #require(ready["port"] as? Int))

        #expect(try curl(adminPort, "/livez").0 == 200)
        #expect(try curl(adminPort, "/readyz").0 == 200)
        let (modelsStatus, modelsBody) = try curl(adminPort, "/v1/models")
        #expect(modelsStatus == 200 && modelsBody.contains("\"family\":\"recbole-sasrec\""), "\(modelsBody)")

        // promtool accepts the exposition.
        let before = try curl(adminPort, "/metrics").1
        if let promtool = Self.promtool {
            let check = try runProcess(promtool, ["check", "metrics"], input: before)
            #expect(check.status == 0 && check.output.isEmpty, "promtool: \(check.output)")
        } else {
            Issue.record("promtool is required (apt-get install prometheus; .ci/run installs it)")
        }

        // N binary and N JSON requests move the counters by exactly 2N; JSON answers equal binary ones.
        let n = 25
        let connection = try await SeqRecConnection(port: port)
        defer { connection.close() }
        for index in 0..<n {
            let session: [UInt32] = [UInt32(1 + index % 50), UInt32(100 + index), UInt32(7 + 3 * index)]
            let binary = try await connection.recommend(RecommendRequest(session: .internal(session), k: 10))
            let (status, body) = try curl(adminPort, "/v1/models/sasrec-ml100k/recommend", method: "POST",
                                          body: "{\"session\":[\(session.map(String.init).joined(separator: ","))],\"k\":10}")
            #expect(status == 200, "\(body)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            let items = try #require(json["items"] as? [[String: Any]])
            guard case .internal(let ids) = binary.items else { Issue.record("binary answer in external ids"); return }
            #expect(items.map { ($0["id"] as? Int).map(UInt32.init) } == ids.map { $0 })
            // The JSON score text parses back to exactly the binary f32.
            let scores = items.map { Float(String(describing: $0["score"]!)) }
            #expect(scores == binary.scores.map { $0 }, "scores differ for session \(session)")
        }
        let after = try curl(adminPort, "/metrics").1
        let okLine = "seqrec_requests_total{model=\"sasrec-ml100k\",version=\"1\",code=\"OK\"}"
        #expect(sample(after, okLine) - sample(before, okLine) == Double(2 * n))
        let countLine = "seqrec_request_duration_seconds_count{model=\"sasrec-ml100k\",version=\"1\"}"
        #expect(sample(after, countLine) - sample(before, countLine) == Double(2 * n))
        let queueLine = "seqrec_queue_wait_seconds_count{model=\"sasrec-ml100k\",version=\"1\"}"
        #expect(sample(after, queueLine) - sample(before, queueLine) == Double(2 * n))

        // The HTTP bad-input catalogue over the wire; the binary protocol keeps serving throughout.
        for (name, wire, _) in HTTPParserTests.catalogue {
            let client = try RawClient(port: adminPort)
            try client.send(wire)
            #expect(try client.closedByServer(timeoutMilliseconds: 15_000), "\(name)")
            #expect(String(decoding: client.received, as: UTF8.self).hasPrefix("HTTP/1.1 4") ||
                    String(decoding: client.received, as: UTF8.self).hasPrefix("HTTP/1.1 5"), "\(name)")
            _ = try await connection.recommend(RecommendRequest(session: .internal([1, 2, 3]), k: 5))
        }
        // Binary-protocol violations are counted (and logged as bad_frame), one per connection.
        let framingBefore = sample(try curl(adminPort, "/metrics").1, "seqrec_framing_errors_total")
        for _ in 0..<2 {
            let client = try RawClient(port: port)
            try client.send("GET / HTTP/1.1\r\n\r\n")   // not the SeqRec preface
            #expect(try client.closedByServer(timeoutMilliseconds: 15_000))
        }
        #expect(sample(try curl(adminPort, "/metrics").1, "seqrec_framing_errors_total") - framingBefore == 2)
        let (badStatus, badBody) = try curl(adminPort, "/v1/models/sasrec-ml100k/recommend", method: "POST", body: "{\"session\":[1],\"k\":0}")
        #expect(badStatus == 400 && badBody.hasPrefix("{\"code\":\"INVALID_ARGUMENT\""))
        #expect(try curl(adminPort, "/v1/models/nope/recommend", method: "POST", body: "{\"session\":[1]}").0 == 404)
        #expect(try curl(adminPort, "/metrics", method: "DELETE").0 == 405)

        // Drain: /readyz turns 503 at once, while binary requests are still served (GOAWAY comes
        // after the drain delay); /livez stays 200.
        server.process.terminate()
        var readyStatus = 200
        for _ in 0..<40 where readyStatus == 200 {
            readyStatus = try curl(adminPort, "/readyz").0
            if readyStatus == 200 { try await Task.sleep(nanoseconds: 25_000_000) }
        }
        #expect(readyStatus == 503)
        #expect(try curl(adminPort, "/livez").0 == 200)
        let during = try await connection.recommend(RecommendRequest(session: .internal([1, 2, 3]), k: 5))
        #expect(during.items.count == 5)
        #expect(sample(try curl(adminPort, "/metrics").1, "seqrec_draining") == 1)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)

        // Every stderr line is a JSON object with ts, level and event.
        let lines = server.stderrLines
        #expect(lines.contains { $0.contains("\"event\":\"bad_frame\"") }, "no bad_frame line")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["ts"] is String && object?["level"] is String && object?["event"] is String, "\(line)")
        }
        // --log-requests sample:3 (odd, so alternating binary/JSON traffic samples both): request lines with scalar fields only, from both transports.
        let requestLines = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["event"] as? String == "request" }
        #expect(requestLines.count >= 5)
        #expect(Set(requestLines.compactMap { $0["transport"] as? String }).isSuperset(of: ["binary", "http"]))
        for line in requestLines {
            #expect(Set(line.keys).isSubset(of: ["ts", "level", "event", "request_id", "transport", "model", "version", "status", "duration_s"]))
        }
        #expect(server.event("drain", seconds: 0) != nil)
        #expect(server.event("stop", seconds: 0) != nil)
    }

    @Test func printConfigAndUnknownKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json")
        try Data(#"{"max-batch": 8, "admin-port": "off", "model": ["Models/sasrec-ml100k.seqrec"]}"#.utf8).write(to: good)
        let printed = try runProcess(PackagePaths.seqrecExecutable, ["serve", "--config", good.path, "--max-batch", "16", "--print-config"])
        #expect(printed.status == 0, "\(printed.output)")
        let settings = try #require(try JSONSerialization.jsonObject(with: Data(printed.output.utf8)) as? [String: Any])
        #expect(settings["max-batch"] as? Int == 16)
        #expect(settings["admin-port"] as? String == "off")
        #expect(settings["workers"] != nil)
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"max-bach": 8}"#.utf8).write(to: bad)
        let refused = try runProcess(PackagePaths.seqrecExecutable, ["serve", "--config", bad.path])
        #expect(refused.status != 0)
        #expect(refused.output.contains("'max-bach'") && refused.output.contains("did you mean 'max-batch'?"), "\(refused.output)")
    }
}
