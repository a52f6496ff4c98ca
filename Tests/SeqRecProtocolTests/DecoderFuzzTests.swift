// Deterministic mutational fuzzing of the decoder and every body decoder (protocol-notes T9, the
// in-process part): mutated valid streams must only ever produce frames or ProtocolErrors, never a
// trap, and the decoder must never hold more bytes than it was fed.
import SeqRecProtocol
import SeqRecTestSupport
import Testing

/// Server → client stream made of every server frame type.
let serverStream: [UInt8] = {
    var wire: [UInt8] = []
    HelloAck(serverID: "s").encodeFrame(requestID: 0, into: &wire)
    RecommendResponse(modelName: "m", modelVersion: 1, items: .external(["a", "bb"]), scores: [1, 2],
                      embedding: [3]).encodeFrame(requestID: 1, into: &wire)
    RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([4]), scores: [1]).encodeFrame(requestID: 2, into: &wire)
    ErrorBody(status: .notFound, message: "no model").encodeFrame(requestID: 3, aux: 5, flags: .notProcessed, into: &wire)
    Pong(payload: 7).encodeFrame(requestID: 0, into: &wire)
    HealthResponse(status: .serving).encodeFrame(requestID: 4, into: &wire)
    ModelListResponse(models: [sasrecModel]).encodeFrame(requestID: 5, into: &wire)
    GoAway(status: .unavailable, message: "drain").encodeFrame(requestID: 0, aux: 5, into: &wire)
    return wire
}()

/// Version 2 client stream: requests with every request extension, an empty-session fallback request,
/// an ignorable unknown extension (bytes from docs/PROTOCOL.md Appendix A), and other frames.
let multiFrameStreamV2: [UInt8] = {
    var wire = ConnectionPreface.bytes
    Hello(maxVersion: 2).encodeFrame(requestID: 0, into: &wire)
    optionsRequest.encodeFrame(requestID: 1, aux: 5_000, version: 2, into: &wire)
    RecommendRequest(session: .external(["a", "b"]), k: 1, candidates: .external(["c"]), sessionKey: [0, 255],
                     filters: RecommendFilters(categoriesExclude: ["x", "yz"])).encodeFrame(requestID: 2, version: 2, into: &wire)
    RecommendRequest(session: .internal([]), k: 2, fallback: true).encodeFrame(requestID: 3, version: 2, into: &wire)
    wire += bytes(hex: GoldenV2.recommendIgnorable)
    Ping(payload: 99).encodeFrame(requestID: 0, into: &wire)
    RecommendRequest(session: .internal([4]), k: 1).encodeFrame(requestID: 5, version: 2, into: &wire)
    return wire
}()

/// Version 2 server stream: responses with fallback flags and explanations in both id spaces.
let serverStreamV2: [UInt8] = {
    var wire: [UInt8] = []
    HelloAck(version: 2, serverID: "s").encodeFrame(requestID: 0, into: &wire)
    explainedResponse.encodeFrame(requestID: 1, version: 2, into: &wire)
    RecommendResponse(modelName: "m", modelVersion: 1, items: .external(["a", "bb"]), scores: [1, 2], embedding: [3],
                      usedFallback: true, explanations: [Explanation(items: .external(["q"]), contributions: [0.5]),
                                                         Explanation(items: .external([]), contributions: [])])
        .encodeFrame(requestID: 2, version: 2, into: &wire)
    RecommendResponse(modelName: "m", modelVersion: 1, items: .internal([4]), scores: [1]).encodeFrame(requestID: 3, version: 2, into: &wire)
    ErrorBody(status: .unimplemented, message: "ext").encodeFrame(requestID: 4, flags: .notProcessed, into: &wire)
    return wire
}()

@Suite struct DecoderFuzzTests {
    /// Applies 1–4 random edits: overwrite, insert, delete, or poke a big-endian length-like value.
    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0...(generator.next() % 4) {
            guard !bytes.isEmpty else { break }
            let at = Int(generator.next() % UInt64(bytes.count))
            switch generator.next() % 4 {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            case 1: bytes.insert(UInt8(truncatingIfNeeded: generator.next()), at: at)
            case 2: bytes.remove(at: at)
            default:
                let value = [0, 1, 0xff, 0x7f, 0x80][Int(generator.next() % 5)]
                for offset in 0..<min(4, bytes.count - at) { bytes[at + offset] = UInt8(value) }
            }
        }
        return bytes
    }

    /// Decodes a stream in random chunks; returns (frames, bodies decoded, error thrown).
    static func run(
        _ stream: [UInt8], role: FrameDecoder.Role, version: UInt16 = 1, using generator: inout SplitMix64
    ) -> (frames: Int, bodies: Int, failed: Bool) {
        var decoder = FrameDecoder(role: role)
        var frames = 0, bodies = 0, start = 0
        while start < stream.count {
            let end = min(stream.count, start + Int(generator.next() % 64) + 1)
            decoder.feed(stream[start..<end])
            start = end
            #expect(decoder.bufferedByteCount <= start)
            do {
                while let frame = try decoder.next() {
                    frames += 1
                    guard let message = try? Message(decoding: frame, version: version) else { continue }
                    bodies += 1
                    // Encodings are canonical: every accepted body re-encodes to exactly its bytes, except
                    // that re-encoding drops unknown IGNORABLE extensions (version 2): then the shorter
                    // encoding must decode to the same message and re-encode to itself.
                    var again: [UInt8] = []
                    message.body.encode(version: version, into: &again)
                    if !again.elementsEqual(frame.body) {
                        let reread = try? Message(decoding: Frame(header: frame.header, body: again[...]), version: version)
                        var third: [UInt8] = []
                        reread?.body.encode(version: version, into: &third)
                        #expect(version >= 2 && again.count < frame.body.count && reread == message && third == again,
                                "\(frame.header.type) body does not re-encode to itself")
                    }
                }
            } catch {
                #expect(decoder.failure == error)
                return (frames, bodies, true)
            }
        }
        return (frames, bodies, false)
    }

    @Test(arguments: [(FrameDecoder.Role.server, UInt16(1)), (.client, 1), (.server, 2), (.client, 2)])
    func mutatedStreamsNeverTrap(role: FrameDecoder.Role, version: UInt16) {
        let seed: UInt64 = (role == .server ? 0xF022 : 0xF023) + 0x100 * UInt64(version - 1)
        var generator = SplitMix64(seed: seed)
        let valid = switch (role, version) {
        case (.server, 1): multiFrameStream
        case (.client, 1): serverStream
        case (.server, _): multiFrameStreamV2
        case (.client, _): serverStreamV2
        }
        var failures = 0, bodyErrors = 0
        for _ in 0..<20_000 {
            let outcome = Self.run(Self.mutate(valid, using: &generator), role: role, version: version, using: &generator)
            if outcome.failed { failures += 1 }
            if outcome.bodies < outcome.frames { bodyErrors += 1 }
        }
        // The mutations must exercise both the framing and the body checks, or this test proves nothing.
        #expect(failures > 1_000, "seed \(seed): only \(failures) framing failures")
        #expect(bodyErrors > 1_000, "seed \(seed): only \(bodyErrors) runs with body errors")
    }

    @Test func unmutatedStreamsDecodeCompletely() {
        var generator = SplitMix64(seed: 1)
        let server = Self.run(multiFrameStream, role: .server, using: &generator)
        #expect(server.failed == false && server.frames == 8 && server.bodies == 8)
        let client = Self.run(serverStream, role: .client, using: &generator)
        #expect(client.failed == false && client.frames == 8 && client.bodies == 8)
        let serverV2 = Self.run(multiFrameStreamV2, role: .server, version: 2, using: &generator)
        #expect(serverV2.failed == false && serverV2.frames == 7 && serverV2.bodies == 7)
        let clientV2 = Self.run(serverStreamV2, role: .client, version: 2, using: &generator)
        #expect(clientV2.failed == false && clientV2.frames == 5 && clientV2.bodies == 5)
    }
}
