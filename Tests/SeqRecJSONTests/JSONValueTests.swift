// JSONValue keeps integers, floats and booleans apart (what the strict validators of config.json,
// safetensors headers, request bodies and the serve config file rely on).
import Foundation
import SeqRecJSON
import Testing

@Suite struct JSONValueTests {
    @Test func scalarsAreClassifiedExactly() throws {
        #expect(try JSONValue.parse(Array("1".utf8)) == .int(1))
        #expect(try JSONValue.parse(Array("-9223372036854775808".utf8)) == .int(.min))
        #expect(try JSONValue.parse(Array("0.5".utf8)) == .double(0.5))
        #expect(try JSONValue.parse(Array("true".utf8)) == .bool(true), "a boolean is not the integer 1")
        #expect(try JSONValue.parse(Array("0".utf8)) == .int(0), "the integer 0 is not false")
        #expect(try JSONValue.parse(Array("null".utf8)) == .null)
        #expect(try JSONValue.parse(Array(#""1""#.utf8)) == .string("1"))
        // Beyond Int64: a float, never a wrapped integer.
        #expect(try JSONValue.parse(Array("9223372036854775808".utf8)) == .double(9_223_372_036_854_775_808))
    }

    @Test func containersNest() throws {
        let document = #"{"a": [1, 2.5, "x", null, {"b": false}], "c": {}}"#
        let expected: JSONValue = .object([
            "a": .array([.int(1), .double(2.5), .string("x"), .null, .object(["b": .bool(false)])]),
            "c": .object([:]),
        ])
        #expect(try JSONValue.parse(Array(document.utf8)) == expected)
        #expect(try JSONValue.parse(Data(document.utf8), field: "file") == expected)
    }

    @Test func typeNamesSayWhatWasFound() throws {
        let names = try ["null", "true", "3", "3.5", #""s""#, "[]", "{}"].map { try JSONValue.parse(Array($0.utf8)).typeName }
        #expect(names == ["null", "a boolean", "an integer", "a float", "a string", "an array", "an object"])
    }

    /// Foundation's parser accepts a trailing comma before `]` or `}` (RFC 8259 does not): recorded here so a
    /// change of that leniency is noticed.
    @Test func trailingCommasAreAccepted() throws {
        #expect(try JSONValue.parse(Array("[1, 2,]".utf8)) == .array([.int(1), .int(2)]))
        #expect(try JSONValue.parse(Array(#"{"a": 1,}"#.utf8)) == .object(["a": .int(1)]))
    }

    @Test func errorsNameTheFieldInOneLine() {
        #expect(throws: JSONInputError(field: "header", problem: "not valid JSON")) {
            try JSONValue.parse(Array(#"{"a":"#.utf8), field: "header")
        }
        #expect(JSONInputError(field: "body", problem: "not valid JSON").description == "body: not valid JSON")
    }
}
