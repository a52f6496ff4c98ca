import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Response encoder")
struct ResponseEncoderTests {
    @Test(arguments: [0, 1, 7, 1_000], [0, 3])
    func matchesTheCodecByteForByte(count: Int, width: Int) {
        let items = (0..<count).map { Int32($0 * 37 % 1_009) }
        let scores = (0..<count).map { Float($0) * -0.25 + 1.5 }
        let embedding = (0..<width).map { Float($0) / 3 }
        var output: [UInt8] = [9, 9]  // existing bytes stay untouched
        ResponseEncoder.appendRecommendResponse(requestID: 77, modelName: "sasrec-ml1m", modelVersion: 3, items: items,
                                                scores: scores, embedding: embedding, into: &output)
        let reference = RecommendResponse(modelName: "sasrec-ml1m", modelVersion: 3,
                                          items: .internal(items.map { UInt32($0) }), scores: scores, embedding: embedding)
            .frameBytes(requestID: 77)
        #expect(output == [9, 9] + reference)
    }
}
