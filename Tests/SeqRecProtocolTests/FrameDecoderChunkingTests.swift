// The decoder gives identical frames however the stream is cut into reads (NIO's
// ByteToMessageDecoderVerifier idea), and its buffer stays bounded while it runs.
import SeqRecProtocol
import SeqRecTestSupport
import Testing

/// A client → server stream: preface, HELLO, and one frame of every client request kind.
let multiFrameStream: [UInt8] = {
    var wire = clientOpening
    RecommendRequest(session: .internal([1, 2, 3]), k: 3).encodeFrame(requestID: 1, aux: 5_000, into: &wire)
    HealthRequest(service: "sasrec").encodeFrame(requestID: 2, into: &wire)
    RecommendRequest(session: .external(["a", "b"]), k: 1, candidates: .external(["c"])).encodeFrame(requestID: 3, into: &wire)
    Ping(payload: 99).encodeFrame(requestID: 0, into: &wire)
    Cancel().encodeFrame(requestID: 3, into: &wire)
    ModelInfoRequest().encodeFrame(requestID: 4, into: &wire)
    GoAway(status: .ok).encodeFrame(requestID: 0, into: &wire)
    return wire
}()

@Suite struct FrameDecoderChunkingTests {
    let expected: [OwnedFrame]

    init() throws {
        expected = try decodeAll([multiFrameStream], role: .server)
    }

    @Test func allAtOnceFindsEveryFrame() {
        #expect(expected.map(\.header.type) == [.hello, .recommend, .health, .recommend, .ping, .cancel, .modelInfo, .goAway])
        #expect(expected.map(\.header.requestID) == [0, 1, 2, 3, 0, 3, 4, 0])
    }

    @Test func byteByByte() throws {
        #expect(try decodeAll(multiFrameStream.map { [$0] }, role: .server) == expected)
    }

    @Test func splitAtEveryOffset() throws {
        for cut in 0...multiFrameStream.count {
            let chunks = [Array(multiFrameStream[..<cut]), Array(multiFrameStream[cut...])]
            #expect(try decodeAll(chunks, role: .server) == expected, "cut at \(cut)")
        }
    }

    @Test func everyPairOfCuts() throws {
        let stream = multiFrameStream
        for first in stride(from: 0, to: stream.count, by: 3) {
            for second in stride(from: first, through: stream.count, by: 5) {
                let chunks = [Array(stream[..<first]), Array(stream[first..<second]), Array(stream[second...])]
                #expect(try decodeAll(chunks, role: .server) == expected, "cuts at \(first), \(second)")
            }
        }
    }

    @Test func seededRandomChunks() throws {
        var generator = SplitMix64(seed: 0x5EC_4EC)
        for round in 0..<200 {
            var chunks: [[UInt8]] = []
            var start = 0
            while start < multiFrameStream.count {
                let size = Int(generator.next() % 40) + 1
                let end = min(start + size, multiFrameStream.count)
                chunks.append(Array(multiFrameStream[start..<end]))
                start = end
            }
            #expect(try decodeAll(chunks, role: .server) == expected, "round \(round), seed 0x5EC4EC")
        }
    }

    @Test func bufferIsReusedAndBounded() throws {
        var decoder = FrameDecoder(role: .server)
        decoder.feed(clientOpening)
        _ = try decoder.next()
        let frame = RecommendRequest(session: .internal(Array(0..<100)), k: 10).frameBytes(requestID: 1)
        var capacities: Set<Int> = []
        for _ in 0..<2_000 {
            decoder.feed(frame[..<100])
            #expect(try decoder.next() == nil)
            #expect(decoder.isInsideFrame)
            decoder.feed(frame[100...])
            #expect(try decoder.next() != nil)
            #expect(decoder.bufferedByteCount == 0)
            #expect(!decoder.isInsideFrame)
            capacities.insert(decoder.bufferCapacity)
        }
        #expect(capacities.count <= 2, "buffer reallocated: capacities \(capacities.sorted())")
        #expect(capacities.max()! < 4 * frame.count)
    }

    @Test func manyFramesInOneFeedCompactTheBuffer() throws {
        var decoder = FrameDecoder(role: .client)
        let pong = Pong(payload: 1).frameBytes(requestID: 0)
        let batch = Array((0..<1_000).map { _ in pong }.joined())
        for _ in 0..<20 {
            decoder.feed(batch + pong[..<7])
            var count = 0
            while try decoder.next() != nil { count += 1 }
            #expect(count == 1_000)
            decoder.feed(pong[7...])
            #expect(try decoder.next() != nil)
        }
        #expect(decoder.bufferCapacity < 2 * (batch.count + pong.count))
    }
}
