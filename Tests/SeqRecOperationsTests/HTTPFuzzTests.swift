// Deterministic mutational fuzzing of the HTTP codec: mutated valid streams fed in random chunks
// must only produce requests or a status answer, never trap, and never hold more bytes than the
// limits allow for a head plus a body.
@testable import SeqRecOperations
import SeqRecTestSupport
import Testing

@Suite struct HTTPFuzzTests {
    static let seed = Array(("GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n"
        + "POST /v1/models/m/recommend HTTP/1.1\r\nHost: a\r\nContent-Length: 27\r\n\r\n{\"session\":[1,2],\"k\":3}   "
        + "HEAD /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").utf8)

    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0...(generator.next() % 6) {
            let at = Int(generator.next() % UInt64(bytes.count))
            switch generator.next() % 5 {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            case 1: bytes.insert([UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: ":"), UInt8(ascii: " "), 0][Int(generator.next() % 5)], at: at)
            case 2: if bytes.count > 1 { bytes.remove(at: at) }
            case 3: bytes.insert(contentsOf: Array("9".utf8) + Array(repeating: UInt8(ascii: "9"), count: Int(generator.next() % 20)), at: at)
            default: bytes[at] = [UInt8(ascii: " "), UInt8(ascii: "\t"), 0x80, 0x7F][Int(generator.next() % 4)]
            }
        }
        return bytes
    }

    @Test func mutatedStreamsNeverTrap() {
        var generator = SplitMix64(seed: 0x4854_5450)
        let limits = HTTPLimits()
        var failed = 0, requests = 0
        for _ in 0..<20_000 {
            let stream = Self.mutate(Self.seed, using: &generator)
            var connection = HTTPConnection(limits: limits)
            var start = 0
            while start < stream.count, !connection.isClosing {
                let end = min(stream.count, start + Int(generator.next() % 48) + 1)
                for item in connection.receive(stream[start..<end]) {
                    requests += 1
                    #expect(item.request.body.count <= limits.maxBodyBytes)
                    connection.respond(to: item.sequence, with: .text(.ok, ""))
                }
                start = end
            }
            if connection.isClosing, connection.output.count > 0 {
                let text = String(decoding: connection.output, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 "))
                if text.contains("Connection: close") { failed += 1 }
            }
        }
        // Both outcomes must be exercised, or the mutator is not testing anything.
        #expect(failed > 1_000)
        #expect(requests > 10_000)
    }
}
