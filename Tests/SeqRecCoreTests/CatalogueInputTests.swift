import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// The attribute inputs: the file format, PATCH bodies and journal lines. A bad-input catalogue (each
/// entry must be refused with the named field), a fuzz test (mutated and random input never crashes
/// and either parses or throws `CatalogueError`), timestamps, and durability of the journal.
@Suite("Catalogue: inputs and journal")
struct CatalogueInputTests {
    static let badLines: [(String, String)] = [
        ("{", "expected a quoted key"),
        ("{\"id\": ", "end of input"),
        ("[]", "expected an object"),
        ("{\"available\": false}", "id: missing"),
        ("{\"id\": 50}", "id: expected a string"),
        ("{\"id\": \"\"}", "id: has 0 bytes"),
        ("{\"id\": \"\(String(repeating: "x", count: 257))\"}", "id: has 257 bytes"),
        ("{\"id\": \"5\", \"available\": \"no\"}", "available: expected true or false"),
        ("{\"id\": \"5\", \"available\": 0}", "available"),
        ("{\"id\": \"5\", \"categories\": \"Action\"}", "categories: expected an array"),
        ("{\"id\": \"5\", \"categories\": [1.5]}", "categories[0]: 1.5 is not an integer"),
        ("{\"id\": \"5\", \"categories\": [\"\"]}", "categories[0]: has 0 bytes"),
        ("{\"id\": \"5\", \"categories\": [null]}", "categories[0]: expected a name or an integer"),
        ("{\"id\": \"5\", \"categories\": [\(Array(repeating: "\"a\"", count: 33).joined(separator: ","))]}", "at most 32"),
        ("{\"id\": \"5\", \"expires_at\": \"tomorrow\"}", "expires_at: 'tomorrow' is not an RFC 3339"),
        ("{\"id\": \"5\", \"expires_at\": \"2026-02-30T00:00:00Z\"}", "expires_at"),
        ("{\"id\": \"5\", \"expires_at\": \"2026-12-31T00:00:60Z\"}", "expires_at"),
        ("{\"id\": \"5\", \"expires_at\": \"2026-12-31 00:00:00\"}", "expires_at"),
        ("{\"id\": \"5\", \"expires_at\": \"1969-12-31T23:59:59Z\"}", "expires_at"),
        ("{\"id\": \"5\", \"expires_at\": 1790000000}", "expires_at: expected an RFC 3339 string or null"),
        ("{\"id\": \"5\", \"availabel\": true}", "availabel: unknown field"),
        ("{\"id\": \"5\", \"id\": \"6\"}", "duplicate key"),
        ("{\"id\": \"5\",}", "expected a quoted key"),
        ("{\"id\": \"5\"} x", "unexpected text after the value"),
        ("{\"id\": \"\\ud800\"}", "lone surrogate"),
        ("{\"id\": \"a\u{01}b\"}", "control character"),
        ("{\"id\": \"5\", \"available\": tru}", "expected 'true'"),
        ("{\"id\": \"5\", \"categories\": [01]}", "expected ',' or ']'"),
        ("{\"a\":[[[[[[[[[1]]]]]]]]]}", "nesting deeper than 8"),
        ("{\"id\": \"5\", \"categories\": [-]}", "bad number"),
    ]

    @Test func badLinesNameTheirField() {
        for (line, fragment) in Self.badLines {
            do {
                _ = try AttributeFile.parse(Array(("{\"id\": \"1\"}\n" + line + "\n").utf8))
                Issue.record("accepted: \(line.prefix(80))")
            } catch {
                #expect(error.description.hasPrefix("line 2"), "\(error)")
                #expect(error.description.contains(fragment), "'\(fragment)' missing from: \(error)")
                #expect(error.kind == .invalidInput)
            }
        }
    }

    @Test func duplicateIDsAndInvalidUTF8() {
        #expect(throws: CatalogueError.self) { try AttributeFile.parse(Array("{\"id\":\"5\"}\n\n{\"id\":\"5\"}\n".utf8)) }
        do {
            _ = try AttributeFile.parse(Array("{\"id\":\"5\"}\n{\"id\":\"6\"}\n{\"id\":\"5\"}".utf8))
        } catch { #expect(error.description.contains("first on line 1"), "\(error)") }
        #expect(throws: CatalogueError.self) { try AttributeFile.parse([0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]) }
    }

    @Test func goodFileParses() throws {
        let text = """
        {"id": "50", "available": false, "categories": ["Action", 7, "Action"], "expires_at": "2026-12-31T00:00:00Z"}

        {"id":"Toy Story (1995)","categories":[],"expires_at":null}
        {"id": "51", "expires_at": "2026-12-31T01:30:00.25+01:30"}
        """
        let updates = try AttributeFile.parse(Array(text.utf8))
        #expect(updates.count == 3)
        #expect(updates[0] == AttributeUpdate(key: .token("50"), available: false, categories: ["Action", "7"],
                                              expiresAt: .at(Timestamp.parse("2026-12-31T00:00:00Z")!)))
        #expect(updates[1] == AttributeUpdate(key: .token("Toy Story (1995)"), categories: [], expiresAt: .never))
        #expect(updates[2].expiresAt == .at(Timestamp.parse("2026-12-31T00:00:00.250Z")!))
    }

    @Test func timestamps() {
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parse("2026-12-31T00:00:00Z") == 1_798_675_200_000)
        #expect(Timestamp.parse("2024-02-29T12:00:00.5Z") == 1_709_208_000_500)
        #expect(Timestamp.parse("2023-02-29T12:00:00Z") == nil)
        for ms: Int64 in [0, 1, 999, 1_798_675_200_000, 1_709_208_000_500, 253_402_300_799_999] {
            #expect(Timestamp.parse(Timestamp.format(ms)) == ms, "\(ms) → \(Timestamp.format(ms))")
        }
    }

    /// Mutations of valid lines and random bytes: parse or throw, never crash; what parses round-trips
    /// through the journal's JSON form.
    @Test func fuzz() throws {
        var random = SplitMix64(seed: 1515)
        let seeds = [
            #"{"id": "50", "available": false, "categories": ["Action", 7], "expires_at": "2026-12-31T00:00:00Z"}"#,
            #"{"updates": [{"id": 50, "available": true}, {"id": "x\u00e9\n", "categories": [], "expires_at": null}]}"#,
        ]
        let alphabet = Array(#"{}[]",:0123456789-+.eE\u"truefalsenullidavailablecategoriesexpires_at "#.utf8) + [0, 0xFF, 0xC3, 0x0A]
        var parsed = 0
        for iteration in 0..<20_000 {
            var bytes: [UInt8]
            if iteration % 10 == 0 {
                bytes = (0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                bytes = Array(seeds[iteration % 2].utf8)
                mutateBytes(&bytes, edits: Int.random(in: 1...4, using: &random), alphabet: alphabet, using: &random)
            }
            do {
                let value = try CatalogueJSON.parse(bytes[...])
                parsed += 1
                if let update = try? AttributeUpdate.parse(value, tokenOnly: false) {
                    #expect(try AttributeUpdate.parse(CatalogueJSON.parse(update.json), tokenOnly: false) == update)
                }
                if let batch = try? AttributeJournal.batch(value, tokenOnly: false) {
                    for update in batch {
                        #expect(try AttributeUpdate.parse(CatalogueJSON.parse(update.json), tokenOnly: false) == update)
                    }
                }
            } catch {
                #expect(!error.description.isEmpty)
            }
            _ = try? AttributeFile.parse(bytes)
        }
        #expect(parsed > 100, "the mutations keep some inputs valid")
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seqrec-catalogue-\(UUID().uuidString)").path
        return path
    }

    @Test func journalReplaysAcknowledgedUpdatesAndDropsATornTail() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let catalogue = try ItemCatalogue(name: "shop/main", stateDirectory: directory)
            try catalogue.apply([AttributeUpdate(key: .token("50"), available: false, categories: ["Action"])])
            try catalogue.apply(json: Array(#"{"updates": [{"id": "51", "expires_at": "2030-01-01T00:00:00Z"}, {"id": "50", "categories": ["Drama", 7]}]}"#.utf8))
        }
        let journal = directory + "/items/shop%2Fmain/journal.jsonl"
        #expect(FileManager.default.fileExists(atPath: journal))
        // A batch whose write was cut short (no newline): never acknowledged, dropped at start.
        let handle = try #require(FileHandle(forWritingAtPath: journal))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"updates":[{"id":"52","avail"#.utf8))
        handle.closeFile()
        let reopened = try ItemCatalogue(name: "shop/main", stateDirectory: directory)
        #expect(try reopened.item(.token("50")).attributes == ItemAttributes(available: false, categories: ["Drama", "7"]))
        #expect(try reopened.item(.token("51")).attributes.expiresAt == Timestamp.parse("2030-01-01T00:00:00Z"))
        #expect(try reopened.item(.token("52")).attributes == ItemAttributes())
        // Start-up compacted the journal into the overlay; a third start reads the overlay alone.
        #expect((try? Data(contentsOf: URL(fileURLWithPath: journal)))?.isEmpty == true)
        try reopened.apply([AttributeUpdate(key: .token("51"), available: false)])
        let third = try ItemCatalogue(name: "shop/main", stateDirectory: directory)
        #expect(try third.item(.token("51")).attributes == ItemAttributes(available: false, expiresAt: Timestamp.parse("2030-01-01T00:00:00Z")))
        #expect(third.exportLines().count == 2)
    }

    @Test func baseFileThenOverlay() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/attributes.jsonl"
        try #"{"id": "50", "available": false, "categories": ["Action"]}"#.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            let catalogue = try ItemCatalogue(name: "m", attributesFile: file, stateDirectory: directory + "/state")
            try catalogue.apply([AttributeUpdate(key: .token("50"), available: true)])
        }
        let again = try ItemCatalogue(name: "m", attributesFile: file, stateDirectory: directory + "/state")
        #expect(try again.item(.token("50")).attributes == ItemAttributes(available: true, categories: ["Action"]))
    }

    @Test func badBatchesChangeNothing() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 8)
        let catalogue = try ItemCatalogue(name: "m", stateDirectory: directory)
        catalogue.attach(recommender)
        let good = recommender.token(of: 50)
        for (body, fragment) in [
            (#"{"updates": [{"id": "\#(good)", "available": false}, {"id": "no such item"}]}"#, "updates[1].id: 'no such item' is not an item"),
            (#"{"updates": [{"id": "\#(good)", "available": false}, {"id": 0}]}"#, "updates[1].id: internal id 0 is not a recommendable id"),
            (#"{"updates": [{"id": "\#(good)", "available": false}, {"id": 99999999}]}"#, "updates[1].id"),
            (#"{"update": []}"#, "updates: missing"),
            (#"{"updates": [], "x": 1}"#, "x: unknown field"),
            (#"{}"#, "updates: missing"),
            (#"{"updates": {}}"#, "updates: expected an array"),
            (#"[1]"#, "expected an object"),
        ] {
            #expect(throws: CatalogueError.self) { try catalogue.apply(json: Array(body.utf8)) }
            do { try catalogue.apply(json: Array(body.utf8)) } catch { #expect(error.description.contains(fragment), "\(error)") }
        }
        #expect(try catalogue.item(.token(good)).attributes.available, "the good half of a bad batch was not applied")
        #expect(recommender.catalogue.snapshot?.itemsWithAttributes == 0)
        let journal = directory + "/items/m/journal.jsonl"
        #expect((try? Data(contentsOf: URL(fileURLWithPath: journal)))?.isEmpty == true, "nothing journaled")
    }
}
