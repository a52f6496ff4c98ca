// The bad-input catalogue and a mutational fuzz test of JSONValue.parse: whatever the bytes, the parse
// returns a value or throws a JSONInputError naming the field in one short line that never repeats the
// document (bodies may carry user data); nothing traps.
import Foundation
import SeqRecJSON
import SeqRecTestSupport
import Testing

@Suite struct JSONValueBadInputTests {
    /// Marks the document's content: a message must never contain it.
    static let secret = "SECRET"

    /// Malformed documents, each with what is wrong with it.
    static let catalogue: [(name: String, bytes: [UInt8])] = [
        ("empty", []),
        ("only white space", Array(" \n\t ".utf8)),
        ("truncated object", Array(#"{"SECRET": 1"#.utf8)),
        ("truncated after key", Array(#"{"SECRET":"#.utf8)),
        ("truncated string", Array(#""SECRET"#.utf8)),
        ("missing colon", Array(#"{"SECRET" 1}"#.utf8)),
        ("single quotes", Array("{'SECRET': 1}".utf8)),
        ("unquoted key", Array("{SECRET: 1}".utf8)),
        ("bare word", Array("SECRET".utf8)),
        ("misspelt literal", Array(#"{"SECRET": tru}"#.utf8)),
        ("NaN", Array("NaN".utf8)),
        ("Infinity", Array("[Infinity]".utf8)),
        ("lone minus", Array("-".utf8)),
        ("plus sign", Array("+1".utf8)),
        ("leading zero", Array("01".utf8)),
        ("fraction without digits", Array("1.".utf8)),
        ("exponent without digits", Array("1e".utf8)),
        ("short unicode escape", Array(#""SECRET\u12""#.utf8)),
        ("unknown escape", Array(#""SECRET\q""#.utf8)),
        ("raw newline in string", Array("\"SECRET\nSECRET\"".utf8)),
        ("invalid UTF-8", [0x22] + Array("SECRET".utf8) + [0xFF, 0xFE, 0x22]),
        ("NUL byte", [0x7B, 0x00, 0x7D]),
        ("second top-level value", Array(#"{"SECRET": 1} {"#.utf8)),
        ("unbalanced brackets", Array(#"[{"SECRET": 1]}"#.utf8)),
        ("nesting far beyond any real document", Array(String(repeating: "[", count: 100_000).utf8)),
        ("deep but closed nesting", Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)),
    ]

    static func expectCleanError(_ bytes: [UInt8], _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try JSONValue.parse(bytes, field: "body")
            Issue.record("\(context): accepted", sourceLocation: sourceLocation)
        } catch {
            expectClean(error, context, sourceLocation: sourceLocation)
        }
    }

    static func expectClean(_ error: JSONInputError, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error.field == "body", "\(context)", sourceLocation: sourceLocation)
        #expect(error.problem.hasPrefix("not valid JSON"), "\(context): \(error.problem)", sourceLocation: sourceLocation)
        #expect(!error.problem.contains(where: \.isNewline) && error.problem.count <= 100,
                "\(context): \(error.problem)", sourceLocation: sourceLocation)
        #expect(!error.problem.contains(secret), "\(context): the message repeats the document", sourceLocation: sourceLocation)
    }

    @Test func everyCatalogueEntryIsRefusedCleanly() {
        for entry in Self.catalogue { Self.expectCleanError(entry.bytes, entry.name) }
    }

    /// Valid documents the fuzzer starts from: every kind of value, escapes, nesting.
    static let seeds = [
        #"{"SECRET": [1, -2.5e3, true, false, null, "x\u00e9\n", {"k": {}}], "n": 9223372036854775807}"#,
        #"[[], {}, "", 0, -0, 0.1, 1E+2, "\ud83d\ude00", "\"\\\/\b\f\n\r\t"]"#,
        #"{"max-batch": 16, "log-format": "json", "SECRET": {"a": [[[1]]]}}"#,
    ]

    /// Bytes flipped, inserted, deleted and truncated, 20,000 mutants from a fixed seed: each parses or
    /// is refused cleanly; a value that parses parses the same way again.
    @Test func mutatedDocumentsParseOrAreRefusedCleanly() {
        var generator = SplitMix64(seed: 0x15_0_1A)
        let interesting: [UInt8] = Array(#"{}[]",:\0123456789.eE+-tfnu"#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xFF]
        var accepted = 0, refused = 0
        for round in 0..<20_000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0...bytes.count, using: &generator)
                let byte = Bool.random(using: &generator) ? interesting.randomElement(using: &generator)!
                    : UInt8.random(in: 0...255, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0 where position < bytes.count: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                case 2 where position < bytes.count: bytes.remove(at: position)
                default: bytes.removeSubrange(position...)
                }
            }
            do {
                let value = try JSONValue.parse(bytes)
                let again = try? JSONValue.parse(bytes)
                #expect(again == value, "round \(round): not deterministic")
                accepted += 1
            } catch {
                Self.expectClean(error, "round \(round)")
                refused += 1
            }
        }
        // Both outcomes must be exercised, or the mutations are too weak (or too strong) to test anything.
        #expect(accepted > 100 && refused > 10_000, "accepted \(accepted), refused \(refused)")
    }
}
