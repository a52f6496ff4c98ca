import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// The bulk-update path (issue 15 leftovers): the streaming reader of update bodies (`UpdateBodyParser`,
/// PATCH bodies and journal lines) against the tree path it replaces: random valid bodies and their
/// mutations give the same updates or the same refusal; a bad-input catalogue of bodies the streaming
/// reader itself refuses, each answered with the tree path's error naming the field; strings without
/// escapes against the standard library's UTF-8 validation; `RecordIndex` against `Dictionary`; the
/// overlay keeps exactly the fields acknowledged updates set; background compaction (also when its
/// overlay cannot be written) and a rotated journal left by a crash lose nothing.
@Suite("Catalogue: bulk updates", .serialized)
struct CatalogueUpdateBodyTests {
    /// The tree path: the whole body as a JSON tree, then the batch rules.
    static func tree(_ bytes: [UInt8], tokenOnly: Bool) -> [AttributeUpdate]? {
        try? AttributeJournal.batch(CatalogueJSON.parse(bytes[...]), tokenOnly: tokenOnly)
    }

    static func streaming(_ bytes: [UInt8], tokenOnly: Bool) -> [AttributeUpdate]? {
        bytes.withUnsafeBufferPointer { UpdateBodyParser.parse($0, tokenOnly: tokenOnly) }
    }

    /// A random valid body: ids as strings (plain, escaped, non-ASCII) or numbers, every field
    /// optional, random spacing, categories as names and integers.
    static func randomBody(_ random: inout SplitMix64) -> String {
        let spaces = ["", " ", "\n", "\t ", "\r\n"]
        func space() -> String { spaces.randomElement(using: &random)! }
        let names = ["\"Action\"", "7", "\"Kids\"", "\"a\\u00e9\\n\"", "-3", "\"\\ud83d\\ude00\"", "\"Action\""]
        var updates: [String] = []
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            var fields: [String] = []
            switch Int.random(in: 0..<4, using: &random) {
            case 0: fields.append("\"id\":\(space())\(Int.random(in: 0...2_000_000, using: &random))")
            case 1: fields.append("\"id\":\"x\\\"y\\\\z\"")
            case 2: fields.append("\"\\u0069d\":\"é\(Int.random(in: 0...99, using: &random))\"")
            default: fields.append("\"id\":\"\(Int.random(in: 1...999_999, using: &random))\"")
            }
            if Bool.random(using: &random) { fields.append("\"available\":\(space())\(Bool.random(using: &random))") }
            if Bool.random(using: &random) {
                let count = Int.random(in: 0...4, using: &random)
                fields.append("\"categories\":[\((0..<count).map { _ in names.randomElement(using: &random)! }.joined(separator: ",\(space())"))]")
            }
            switch Int.random(in: 0..<4, using: &random) {
            case 0: fields.append("\"expires_at\":null")
            case 1: fields.append("\"expires_at\":\"20\(Int.random(in: 27...99, using: &random))-0\(Int.random(in: 1...9, using: &random))-1\(Int.random(in: 0...9, using: &random))T00:00:00\(Bool.random(using: &random) ? "Z" : ".25+01:30")\"")
            default: break
            }
            fields.shuffle(using: &random)
            updates.append("\(space()){\(space())" + fields.joined(separator: "\(space()),\(space())") + "\(space())}")
        }
        return "\(space()){\(space())\"updates\"\(space()):\(space())[" + updates.joined(separator: ",") + "]\(space())}\(space())"
    }

    @Test func streamingEqualsTheTreeOnRandomBodies() {
        var random = SplitMix64(seed: 1520)
        var accepted = 0, refused = 0
        for iteration in 0..<4_000 {
            var bytes = Array(Self.randomBody(&random).utf8)
            if iteration % 2 == 1 {   // mutations: most are refused, some stay valid
                let alphabet = Array(#"{}[]",:0123456789-.eE\u"truefalsenullidavailablecategoriesexpires_at "#.utf8) + [0, 0xFF, 0xC3, 0x0A]
                mutateBytes(&bytes, edits: Int.random(in: 1...3, using: &random), alphabet: alphabet, using: &random)
            }
            for tokenOnly in [false, true] {
                let tree = Self.tree(bytes, tokenOnly: tokenOnly), streaming = Self.streaming(bytes, tokenOnly: tokenOnly)
                #expect(streaming == tree, "\(String(decoding: bytes, as: UTF8.self).prefix(300)) tokenOnly \(tokenOnly)")
                if tree == nil { refused += 1 } else { accepted += 1 }
            }
            if iteration % 2 == 0 { #expect(Self.tree(bytes, tokenOnly: false) != nil, "the generator writes valid bodies") }
        }
        #expect(accepted > 2_000 && refused > 1_000, "accepted \(accepted), refused \(refused)")
    }

    /// Random bytes and bodies cut anywhere: refused or equal to the tree, never a crash.
    @Test func fuzz() {
        var random = SplitMix64(seed: 1521)
        for iteration in 0..<20_000 {
            let bytes: [UInt8]
            if iteration % 3 == 0 {
                bytes = (0..<Int.random(in: 0...48, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            } else {
                let body = Array(Self.randomBody(&random).utf8)
                bytes = Array(body.prefix(Int.random(in: 0...body.count, using: &random)))
            }
            #expect(Self.streaming(bytes, tokenOnly: false) == Self.tree(bytes, tokenOnly: false))
            do { _ = try UpdateBodyParser.batch(bytes[...], tokenOnly: false) } catch { #expect(!error.description.isEmpty) }
        }
    }

    /// Bodies the streaming reader refuses by itself, and the error each answer carries (the tree
    /// path's, naming the byte or the field).
    static let badBodies: [(String, String)] = [
        ("", "unexpected end of input"),
        ("[1]", "expected an object"),
        ("{}", "updates: missing"),
        (#"{"update": []}"#, "updates: missing"),
        (#"{"updates": [], "x": 1}"#, "x: unknown field"),
        (#"{"updates": [], "updates": []}"#, "duplicate key 'updates'"),
        (#"{"updates": {}}"#, "updates: expected an array"),
        (#"{"updates": [1]}"#, "updates[0]: expected an object"),
        (#"{"updates": [{}]}"#, "updates[0].id: missing"),
        (#"{"updates": [{"id": "5"},]}"#, "unexpected character at byte"),
        (#"{"updates": [{"id": "5"}] "#, "unterminated object"),
        (#"{"updates": [{"id": "5"}]} x"#, "unexpected text after the value"),
        (#"{"updates": [{"id": "5", "id": "6"}]}"#, "duplicate key 'id'"),
        (#"{"updates": [{"id": "5", "available": true, "available": false}]}"#, "duplicate key 'available'"),
        (#"{"updates": [{"id": "5"}, {"id": ""}]}"#, "updates[1].id: has 0 bytes"),
        (#"{"updates": [{"id": -1}]}"#, "updates[0].id: -1 is not an internal id"),
        (#"{"updates": [{"id": 2147483648}]}"#, "updates[0].id: 2147483648 is not an internal id"),
        (#"{"updates": [{"id": 1.5}]}"#, "updates[0].id: 1.5 is not an internal id"),
        (#"{"updates": [{"id": true}]}"#, "updates[0].id: expected a string (external id) or an integer"),
        (#"{"updates": [{"id": "5", "available": "no"}]}"#, "updates[0].available: expected true or false"),
        (#"{"updates": [{"id": "5", "categories": "Action"}]}"#, "updates[0].categories: expected an array"),
        (#"{"updates": [{"id": "5", "categories": [""]}]}"#, "updates[0].categories[0]: has 0 bytes"),
        (#"{"updates": [{"id": "5", "categories": [[1]]}]}"#, "updates[0].categories[0]: expected a name or an integer"),
        (#"{"updates": [{"id": "5", "expires_at": "tomorrow"}]}"#, "updates[0].expires_at: 'tomorrow' is not an RFC 3339"),
        (#"{"updates": [{"id": "5", "expires_at": 5}]}"#, "updates[0].expires_at: expected an RFC 3339 string or null"),
        (#"{"updates": [{"id": "5", "availabel": true}]}"#, "updates[0].availabel: unknown field"),
        (#"{"updates": [{"id": "5", "x": [[[[[[[[1]]]]]]]]}]}"#, "nesting deeper than 8"),
        (#"{"updates": [{"id": "\ud800"}]}"#, "lone surrogate"),
        ("{\"updates\": [{\"id\": \"a\u{01}b\"}]}", "control character"),
        (#"{"updates": [{"id" "5"}]}"#, "expected ':'"),
        (#"{"updates": [{"id": "5" "available": true}]}"#, "expected ',' or '}'"),
    ]

    @Test func badBodiesAreRefusedNamingTheField() {
        for (body, fragment) in Self.badBodies {
            let bytes = Array(body.utf8)
            #expect(Self.streaming(bytes, tokenOnly: false) == nil, "streaming accepted: \(body)")
            do {
                _ = try UpdateBodyParser.batch(bytes[...], tokenOnly: false)
                Issue.record("accepted: \(body)")
            } catch {
                #expect(error.description.contains(fragment), "'\(fragment)' missing from: \(error)")
                #expect(error.kind == .invalidInput)
            }
        }
        // Invalid UTF-8 inside an id, and a journal line with an internal id (journals hold external ids).
        #expect(Self.streaming([0x7B, 0x22, 0x75, 0x70, 0x64, 0x61, 0x74, 0x65, 0x73, 0x22, 0x3A, 0x5B, 0x7B, 0x22, 0x69, 0x64,
                                0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D, 0x5D, 0x7D], tokenOnly: false) == nil)
        #expect(Self.streaming(Array(#"{"updates": [{"id": 5}]}"#.utf8), tokenOnly: true) == nil)
        #expect(Self.streaming(Array(#"{"updates": [{"id": 5}]}"#.utf8), tokenOnly: false) == [AttributeUpdate(key: .id(5))])
    }

    /// The overlay keeps the fields acknowledged updates set, with their last values, and nothing from
    /// the attribute file: a new file's other fields show through after a restart.
    @Test func overlayKeepsOnlyTheFieldsUpdatesSet() throws {
        let directory = CatalogueInputTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/attributes.jsonl"
        try "{\"id\": \"1\", \"categories\": [\"A\"]}\n{\"id\": \"2\", \"available\": false}\n".write(toFile: file, atomically: true, encoding: .utf8)
        var random = SplitMix64(seed: 1522)
        var expected: [String: ItemAttributes] = ["1": ItemAttributes(categories: ["A"]), "2": ItemAttributes(available: false)]
        var fields: [String: UInt8] = [:]
        do {
            let catalogue = try ItemCatalogue(name: "m", attributesFile: file, stateDirectory: directory + "/state")
            for _ in 0..<20 {
                var batch: [AttributeUpdate] = []
                for _ in 0..<Int.random(in: 1...30, using: &random) {
                    let token = String(Int.random(in: 1...40, using: &random))
                    var update = AttributeUpdate(key: .token(token))
                    if Bool.random(using: &random) { update.available = Bool.random(using: &random) }
                    if Int.random(in: 0..<3, using: &random) == 0 { update.categories = [["B"], [], ["C", "D", "E"]].randomElement(using: &random)! }
                    if Int.random(in: 0..<3, using: &random) == 0 { update.expiresAt = Bool.random(using: &random) ? .never : .at(1_800_000_000_000) }
                    update.apply(to: &expected[token, default: ItemAttributes()])
                    fields[token, default: 0] |= update.fieldBits
                    batch.append(update)
                }
                try catalogue.apply(batch)
            }
            #expect(catalogue.lastBatchTimings.updates > 0)
        }
        // Restart with the same file: exactly the state before (the overlay was compacted at start).
        let again = try ItemCatalogue(name: "m", attributesFile: file, stateDirectory: directory + "/state")
        for (token, attributes) in expected { #expect(try again.item(.token(token)).attributes == attributes, "\(token)") }
        // A new file: each item's fields no update set come from it.
        try "{\"id\": \"1\", \"available\": false, \"categories\": [\"Z\"], \"expires_at\": \"2030-01-01T00:00:00Z\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let third = try ItemCatalogue(name: "m", attributesFile: file, stateDirectory: directory + "/state")
        let set = fields["1", default: 0], updated = expected["1"]!
        let one = try third.item(.token("1")).attributes
        #expect(one.available == (set & AttributeUpdate.availableBit != 0 ? updated.available : false))
        #expect(one.categories == (set & AttributeUpdate.categoriesBit != 0 ? updated.categories : ["Z"]))
        #expect(one.expiresAt == (set & AttributeUpdate.expiresAtBit != 0 ? updated.expiresAt : Timestamp.parse("2030-01-01T00:00:00Z")))
        #expect(try third.item(.token("2")).attributes.available == (fields["2", default: 0] & AttributeUpdate.availableBit != 0 ? expected["2"]!.available : true))
    }

    @Test func timingsCoverTheBatch() throws {
        let catalogue = try ItemCatalogue(name: "m")
        #expect(catalogue.lastBatchTimings == BatchTimings())
        try catalogue.apply((0..<100).map { AttributeUpdate(key: .token(String($0)), available: false) })
        let timings = catalogue.lastBatchTimings
        #expect(timings.updates == 100)
        #expect(timings.journal == 0, "no state directory, no journal")
        #expect(timings.apply > 0)
        #expect(timings.applyAndPublish == timings.check + timings.apply + timings.publish)
    }

    /// Quoted byte strings without escapes: accepted exactly when they are valid UTF-8, decoded unchanged.
    @Test func stringsWithoutEscapesAreValidatedAsTheStandardLibraryDoes() {
        var random = SplitMix64(seed: 1523)
        let pieces: [[UInt8]] = [[0x61], [0xC3, 0xA9], [0xE2, 0x82, 0xAC], [0xF0, 0x9F, 0x98, 0x80], [0xC3], [0xFF], [0xED, 0xA0, 0x80],
                                 [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0x7E]]
        for _ in 0..<5_000 {
            var content: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &random) { content += pieces.randomElement(using: &random)! }
            let parsed = try? CatalogueJSON.parse([UInt8(ascii: "\"")] + content + [UInt8(ascii: "\"")])
            let expected = String(validating: content, as: UTF8.self)
            #expect(parsed == expected.map { .string($0) }, "\(content)")
        }
    }

    /// Quoting for the journal and the overlay (fast path: nothing to escape, one copy; else quotes,
    /// backslashes and control bytes escaped) reads back as the same string.
    @Test func quotedStringsReadBackUnchanged() throws {
        var random = SplitMix64(seed: 1530)
        let pieces = ["a", "7", "é", "😀", "\"", "\\", "\n", "\u{01}", "\u{1F}", " ", "\u{7F}", "long-id-"]
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0...8, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            #expect(try CatalogueJSON.parse(CatalogueJSON.quoted(text)) == .string(text), "\(text.debugDescription)")
        }
    }

    @Test func recordIndexAgreesWithADictionary() {
        var random = SplitMix64(seed: 1524)
        var index = RecordIndex(), reference: [String: Int32] = [:], tokens: [String] = []
        for _ in 0..<50_000 {
            let token = Int.random(in: 0..<4, using: &random) == 0
                ? String(repeating: "long-id-", count: Int.random(in: 1...6, using: &random)) + String(Int.random(in: 0..<500, using: &random))
                : String(Int.random(in: 0..<60_000, using: &random))
            let found = index.find(token, tokens: tokens)
            #expect(found == reference[token] ?? -1, "\(token)")
            if found < 0 {
                let record = Int32(tokens.count)
                tokens.append(token)
                index.insert(token, record: record)
                reference[token] = record
            }
        }
        #expect(index.count == reference.count)
        for (token, record) in reference { #expect(index.find(token, tokens: tokens) == record) }
        for missing in ["", "-1", "long-id-", "x"] where reference[missing] == nil { #expect(index.find(missing, tokens: tokens) == -1) }
        // The batch lookup (three prefetching passes): known, missing and non-id entries, batches
        // shorter and longer than the prefetch distance.
        for size in [0, 1, prefetchDistance - 1, prefetchDistance, prefetchDistance + 1, 5_000] {
            let batch: [String?] = (0..<size).map { _ in
                switch Int.random(in: 0..<8, using: &random) {
                case 0: nil
                case 1: "missing-\(Int.random(in: 0..<100, using: &random))"
                default: tokens[Int.random(in: 0..<tokens.count, using: &random)]
                }
            }
            let found = index.find(batch: size, tokens: tokens) { batch[$0] }
            #expect(found == batch.map { $0.flatMap { reference[$0] } ?? -1 })
        }
    }

    /// The huge-page-advised arrays hold what plain ones would, through growth by appends.
    @Test func hugePageArraysHoldTheirElements() {
        let filled = [Int32](hugePagesRepeating: -1, count: 3_000_000)
        #expect(filled.count == 3_000_000 && filled.allSatisfy { $0 == -1 })
        var grown: [String] = [], plain: [String] = []
        for index in 0..<300_000 {
            grown.reserveOneMoreInHugePages()
            grown.append(String(index))
            plain.append(String(index))
        }
        #expect(grown == plain && grown.capacity >= grown.count)
        let copy = Array(hugePagesCopying: plain, capacity: plain.count + 10)
        #expect(copy == plain && copy.capacity >= plain.count + 10)
    }

    /// Many batches with a tiny compaction threshold: compactions run in the background while batches
    /// go on; after the last one every item reads back as applied, and so after a restart.
    @Test func backgroundCompactionLosesNothing() throws {
        let directory = CatalogueInputTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var random = SplitMix64(seed: 1525)
        var expected: [String: ItemAttributes] = [:]
        do {
            let catalogue = try ItemCatalogue(name: "m", attributesFile: nil, stateDirectory: directory, compactionBytes: 4_000)
            for batch in 0..<60 {
                var updates: [AttributeUpdate] = []
                for _ in 0..<Int.random(in: 1...80, using: &random) {
                    let token = String(Int.random(in: 0..<20_000, using: &random))
                    var update = AttributeUpdate(key: .token(token), available: Bool.random(using: &random))
                    if Bool.random(using: &random) { update.categories = ["c\(Int.random(in: 0..<5, using: &random))"] }
                    if Int.random(in: 0..<4, using: &random) == 0 { update.expiresAt = .at(1_800_000_000_000 + Int64(batch)) }
                    update.apply(to: &expected[token, default: ItemAttributes()])
                    updates.append(update)
                }
                try catalogue.apply(updates)
                if batch % 7 == 0 { catalogue.waitForCompaction() }
            }
            catalogue.waitForCompaction()
            for (token, attributes) in expected { #expect(try catalogue.item(.token(token)).attributes == attributes) }
            #expect(!FileManager.default.fileExists(atPath: directory + "/items/m/journal.compacting.jsonl"))
            #expect(FileManager.default.fileExists(atPath: directory + "/items/m/overlay.jsonl"))
        }
        let reopened = try ItemCatalogue(name: "m", stateDirectory: directory)
        for (token, attributes) in expected { #expect(try reopened.item(.token(token)).attributes == attributes, "\(token)") }
    }

    /// A disk failure in the middle of a background compaction (the new overlay cannot be written: a
    /// directory stands where its temporary file goes): every batch is still acknowledged and durable in
    /// the journals, the rotated journal stays, a crash then loses nothing, and once the disk is
    /// writable again a later compaction is retried and finishes.
    @Test func aCompactionThatCannotWriteLosesNothingAndIsRetried() throws {
        let directory = CatalogueInputTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let items = directory + "/items/m", obstacle = items + "/overlay.jsonl.tmp"
        var expected: [String: ItemAttributes] = [:]
        func batch(_ number: Int) -> [AttributeUpdate] {
            (0..<40).map { index in
                let token = String((number * 37 + index * 11) % 500)
                let update = AttributeUpdate(key: .token(token), available: (number + index) % 3 != 0, categories: ["c\(number % 4)"])
                update.apply(to: &expected[token, default: ItemAttributes()])
                return update
            }
        }
        do {
            let catalogue = try ItemCatalogue(name: "m", attributesFile: nil, stateDirectory: directory, compactionBytes: 2_000)
            try catalogue.apply(batch(0))
            catalogue.waitForCompaction()
            try FileManager.default.createDirectory(atPath: obstacle, withIntermediateDirectories: true)
            for number in 1...12 {
                try catalogue.apply(batch(number))
                catalogue.waitForCompaction()
            }
            #expect(FileManager.default.fileExists(atPath: items + "/journal.compacting.jsonl"), "the failed compaction left its journal")
            for (token, attributes) in expected { #expect(try catalogue.item(.token(token)).attributes == attributes) }
        }
        // A crash while the disk still fails, then start-up with the disk repaired: nothing is lost.
        try FileManager.default.removeItem(atPath: obstacle)
        let reopened = try ItemCatalogue(name: "m", attributesFile: nil, stateDirectory: directory, compactionBytes: 2_000)
        for (token, attributes) in expected { #expect(try reopened.item(.token(token)).attributes == attributes, "\(token)") }
        // Failing again, then repaired while running: the next compaction due is retried and finishes.
        try FileManager.default.createDirectory(atPath: obstacle, withIntermediateDirectories: true)
        for number in 13...20 {
            try reopened.apply(batch(number))
            reopened.waitForCompaction()
        }
        #expect(FileManager.default.fileExists(atPath: items + "/journal.compacting.jsonl"))
        try FileManager.default.removeItem(atPath: obstacle)
        for number in 21...40 {
            try reopened.apply(batch(number))
            reopened.waitForCompaction()
        }
        #expect(!FileManager.default.fileExists(atPath: items + "/journal.compacting.jsonl"), "the retried compaction finished")
        for (token, attributes) in expected { #expect(try reopened.item(.token(token)).attributes == attributes) }
        let restarted = try ItemCatalogue(name: "m", stateDirectory: directory)
        for (token, attributes) in expected { #expect(try restarted.item(.token(token)).attributes == attributes, "\(token)") }
    }

    /// A crash after the rotation and before the overlay's rename leaves the old overlay and both
    /// journals: all of it is replayed, in order, at start.
    @Test func aRotatedJournalLeftByACrashIsReplayed() throws {
        let directory = CatalogueInputTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let items = directory + "/items/m"
        do {
            let catalogue = try ItemCatalogue(name: "m", stateDirectory: directory)
            try catalogue.apply([AttributeUpdate(key: .token("1"), available: false, categories: ["A"])])
            try catalogue.apply([AttributeUpdate(key: .token("2"), available: false)])
        }
        // As the rotation left it: the journal renamed, a new one with a later batch (and a torn tail).
        try FileManager.default.moveItem(atPath: items + "/journal.jsonl", toPath: items + "/journal.compacting.jsonl")
        try Data(Array(#"{"updates":[{"id":"1","available":true}]}"#.utf8) + [0x0A] + Array(#"{"updates":[{"id":"3""#.utf8))
            .write(to: URL(fileURLWithPath: items + "/journal.jsonl"))
        let reopened = try ItemCatalogue(name: "m", stateDirectory: directory)
        #expect(try reopened.item(.token("1")).attributes == ItemAttributes(available: true, categories: ["A"]))
        #expect(try reopened.item(.token("2")).attributes == ItemAttributes(available: false))
        #expect(try reopened.item(.token("3")).attributes == ItemAttributes())
        #expect(!FileManager.default.fileExists(atPath: items + "/journal.compacting.jsonl"), "start-up compacted it")
    }
}
