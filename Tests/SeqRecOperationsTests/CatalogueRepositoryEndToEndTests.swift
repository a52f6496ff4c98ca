// Issue 15 leftovers against a real `seqrec serve --model-repository`: a model name first seen in a
// reload gets its catalogue then (its --item-attributes file applies, its journal lives in
// --state-dir and survives kill -9); `--fallback NAME=popular` answers an empty session that does not
// say; the JSON contract exactly as the issue writes it (PATCH with string and number ids, omitted
// fields unchanged, {"applied": N}, GET one item, a recommend body with filters, diversity, fallback
// and explain answered with "fallback" and "because" entries with titles); seqrec_catalogue_* metrics
// (checked by promtool when installed).
import Foundation
import Glibc
import SeqRecTestSupport
import Testing

@Suite(.serialized) struct CatalogueRepositoryEndToEndTests {
    func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
    }

    func items(_ answer: [String: Any]) -> [[String: Any]] { answer["items"] as? [[String: Any]] ?? [] }

    func start(_ arguments: [String]) throws -> (ServeProcess, UInt16) {
        let server = try ServeProcess(arguments + ["--port", "0", "--admin-port", "0", "--log-format", "json",
                                                   "--workers", "1", "--drain-delay-ms", "0"])
        let ready = try #require(server.event("ready"), "no ready line; stderr: \(server.stderrLines)")
        return (server, UInt16(try #require(ready["admin_port"] as? Int)))
    }

    @Test func aNameFirstSeenInAReloadGetsItsCatalogueAndTheContractHolds() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
            Issue.record("curl is required (apt-get install curl; .ci/run installs it)")
            return
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-catalogue-repo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = directory + "/repository"
        try FileManager.default.createDirectory(atPath: root + "/base/1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PackagePaths.model("sasrec-ml100k"),
                                         toPath: root + "/base/1/model.seqrec")
        // "shop" (added later): the SASRec fixture with popularity: 50 (Star Wars) ×9, 181 ×5, 258 ×1.
        let inter = directory + "/data.inter"
        try ((["user_id:token\titem_id:token"] + (0..<9).map { "u\($0)\t50" } + (0..<5).map { "u\($0)\t181" } + ["u1\t258"])
            .joined(separator: "\n") + "\n").write(toFile: inter, atomically: true, encoding: .utf8)
        let popular = directory + "/popular.seqrec"
        let fixture = PackagePaths.fixture("recbole-sasrec-ml100k")
        let convert = try runProcess(PackagePaths.seqrecExecutable, ["convert", fixture, "-o", popular, "--popularity", inter])
        try #require(convert.status == 0, "\(convert.output)")
        try "{\"id\": \"50\", \"available\": false, \"categories\": [\"Action\"]}\n"
            .write(toFile: directory + "/shop.jsonl", atomically: true, encoding: .utf8)
        let arguments = ["--model-repository", root, "--item-attributes", "shop=\(directory)/shop.jsonl",
                         "--state-dir", directory + "/state", "--fallback", "shop=popular"]
        var (server, port) = try start(arguments)
        #expect(try curl(port, "/v1/models/shop/items/50").0 == 404, "no model 'shop' yet")

        try FileManager.default.createDirectory(atPath: root + "/shop/1", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: popular, toPath: root + "/shop/1/model.seqrec")
        let (reloadStatus, reloadBody) = try curl(port, "/v1/repository/reload", method: "POST", body: "")
        #expect(reloadStatus == 200 && reloadBody.contains("shop@1"), "\(reloadBody)")

        // The attribute file applies to the new name from its first request; GET one item.
        let star = try object(try curl(port, "/v1/models/shop/items/50").1)
        #expect(star["available"] as? Bool == false && star["categories"] as? [String] == ["Action"], "\(star)")
        let starID = try #require(star["internal_id"] as? Int)
        let jediID = try #require(try object(try curl(port, "/v1/models/shop/items/181").1)["internal_id"] as? Int)
        func recommend(_ model: String, _ body: String) throws -> (Int, String) {
            try curl(port, "/v1/models/\(model)/recommend", method: "POST", body: body)
        }
        func coldStart() throws -> [Int] {
            let (status, text) = try recommend("shop", #"{"session": [], "k": 2}"#)
            #expect(status == 200, "\(text)")
            let answer = try object(text)
            #expect(answer["fallback"] as? Bool == true, "the model's default (--fallback shop=popular): \(text)")
            return items(answer).compactMap { $0["id"] as? Int }
        }
        #expect(try coldStart() == [jediID, try #require(try object(try curl(port, "/v1/models/shop/items/258").1)["internal_id"] as? Int)],
                "the most popular available items: 50 is unavailable")

        // PATCH by external id (a string); omitted fields stay.
        var (status, body) = try curl(port, "/v1/models/shop/items", method: "PATCH", body: #"{"updates": [{"id": "50", "available": true}]}"#)
        #expect(status == 200 && body.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"applied":1}"#, "\(body)")
        let starAfter = try object(try curl(port, "/v1/models/shop/items/50").1)
        #expect(starAfter["available"] as? Bool == true && starAfter["categories"] as? [String] == ["Action"], "\(starAfter)")
        #expect(try coldStart() == [starID, jediID])
        // PATCH by internal id (a number).
        (status, body) = try curl(port, "/v1/models/shop/items", method: "PATCH",
                                  body: "{\"updates\": [{\"id\": \(jediID), \"expires_at\": \"2001-01-01T00:00:00Z\"}]}")
        #expect(status == 200 && body.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"applied":1}"#, "\(body)")
        #expect(try curl(port, "/v1/models/shop/items/%23\(jediID)").1.contains(#""available":true,"categories":[],"expires_at":"2001-01-01T00:00:00Z""#))
        #expect(try !coldStart().contains(jediID), "expired")

        // The issue's recommend body, external ids: "fallback" and per-item "because" with titles.
        (status, body) = try recommend("shop", """
            {"session": ["50", "181", "258", "1"], "k": 5, "filters": {"available_only": true, "categories_include": [],
             "categories_exclude": ["Action"], "max_per_category": 2}, "diversity": {"lambda": 0.7, "pool": 200},
             "fallback": true, "explain": true}
            """)
        #expect(status == 200, "\(body)")
        let answer = try object(body)
        #expect(answer["fallback"] as? Bool == false && items(answer).count == 5, "\(body)")
        #expect(!items(answer).contains { $0["id"] as? String == "50" || $0["id"] as? String == "181" }, "Action excluded, 181 expired")
        let because = items(answer).flatMap { $0["because"] as? [[String: Any]] ?? [] }
        #expect(items(answer).allSatisfy { $0["because"] is [[String: Any]] } && !because.isEmpty, "\(body)")
        #expect(because.allSatisfy { ["50", "181", "258", "1"].contains($0["id"] as? String ?? "") && $0["contribution"] is Double })
        #expect(because.contains { ($0["title"] as? String)?.isEmpty == false }, "titles of the session items: \(body)")
        // Empty sessions: "fallback": false is refused; a model with no default refuses naming the fallback.
        #expect(try recommend("shop", #"{"session": [], "fallback": false}"#).0 == 400)
        let (baseStatus, baseBody) = try recommend("base", #"{"session": []}"#)
        #expect(baseStatus == 400 && baseBody.contains("fallback"), "\(baseBody)")

        // Metrics: by model name.
        let metrics = try curl(port, "/metrics").1
        for (series, value) in [("seqrec_catalogue_updates_total", 2.0), ("seqrec_catalogue_update_batches_total", 2),
                                ("seqrec_catalogue_items", 2), ("seqrec_catalogue_categories", 1),
                                ("seqrec_catalogue_items_unavailable", 0), ("seqrec_catalogue_items_expired", 1),
                                ("seqrec_catalogue_update_duration_seconds_count", 2)] {
            #expect(sample(metrics, series + #"{model="shop"}"#) == value, "\(series)")
        }
        #expect(sample(metrics, #"seqrec_catalogue_journal_bytes{model="shop"}"#) > 0)
        #expect(sample(metrics, #"seqrec_catalogue_last_update_timestamp_seconds{model="shop"}"#) > 1.7e9)
        #expect(sample(metrics, #"seqrec_catalogue_updates_total{model="base"}"#) == 0 && metrics.contains(#"seqrec_catalogue_items{model="base"} 0"#))
        if let promtool = ServeEndToEndTests.promtool {
            let check = try runProcess(promtool, ["check", "metrics"], input: metrics)
            let (checked, problems) = (check.status, check.output)
            #expect(checked == 0, "\(problems)")
        }

        // kill -9, restart: the new name's journal in --state-dir is replayed over its file.
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        (server, port) = try start(arguments)
        defer { server.stop() }
        #expect(try object(try curl(port, "/v1/models/shop/items/50").1)["available"] as? Bool == true)
        #expect(try curl(port, "/v1/models/shop/items/181").1.contains(#""expires_at":"2001-01-01T00:00:00Z""#))
        #expect(try coldStart() == [starID, try #require(try object(try curl(port, "/v1/models/shop/items/258").1)["internal_id"] as? Int)])
    }
}
