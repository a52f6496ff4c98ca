// The hot-path encoder for RECOMMEND_RESPONSE with internal ids (docs/PROTOCOL.md §4, §6.3): it
// writes straight from the request slot's buffers into the connection's output with concrete
// types. The codec's generic `RecommendResponse.encodeFrame` is not specialized across modules and
// costs one heap allocation per item and score (measured: 20 per top-10 answer in release; this
// encoder: 0). Tests check it byte for byte against the codec, which stays the reference.
//
//   header  u32 length | u8 type 4 | u8 flags 0 | u16 0 | u32 request_id | u32 aux 0
//   body    str16 model_name | u32 model_version | u8 flags 0 | u32 n | u32 items[n]
//           | f32le scores[n] | u32 width | f32le embedding[width]
import SeqRecProtocol

enum ResponseEncoder {
    static func appendRecommendResponse(requestID: UInt32, modelName: String, modelVersion: UInt32, items: [Int32],
                                        scores: [Float], embedding: [Float], into output: inout [UInt8]) {
        precondition(items.count == scores.count, "\(items.count) items but \(scores.count) scores")
        let nameLength = modelName.utf8.count
        precondition(nameLength <= Int(UInt16.max), "model name does not fit str16")
        // Bounded by max_k and the model's embedding width, far below Int.max.
        let bodyLength = 2 + nameLength + 4 + 1 + 4 + 8 * items.count + 4 + 4 * embedding.count
        let frameLength = FrameHeader.size + bodyLength
        precondition(frameLength - 4 <= Int(UInt32.max), "response frame does not fit u32")
        let start = output.count
        grow(&output, by: frameLength)
        output.withUnsafeMutableBytes { buffer in
            // safe: the `frameLength` bytes from `start` were appended just above.
            var cursor = Cursor(base: buffer.baseAddress! + start)
            cursor.u32(UInt32(frameLength - 4))
            cursor.u8(FrameType.recommendResponse.rawValue)
            cursor.u8(0)
            cursor.u16(0)
            cursor.u32(requestID)
            cursor.u32(0)
            cursor.u16(UInt16(nameLength))
            for byte in modelName.utf8 { cursor.u8(byte) }
            cursor.u32(modelVersion)
            cursor.u8(0)
            cursor.u32(UInt32(items.count))
            for item in items { cursor.u32(UInt32(bitPattern: item)) }
            for score in scores { cursor.f32le(score) }
            cursor.u32(UInt32(embedding.count))
            for value in embedding { cursor.f32le(value) }
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 4_096)

    /// Appends `count` zero bytes by copying whole blocks (a contiguous copy, never per element).
    private static func grow(_ output: inout [UInt8], by count: Int) {
        var remaining = count
        while remaining > 0 {
            let step = min(remaining, zeros.count)
            output.append(contentsOf: zeros[0..<step])
            remaining -= step
        }
    }

    /// Writes forward from `base`; the caller guarantees the room.
    private struct Cursor {
        var base: UnsafeMutableRawPointer

        mutating func u8(_ value: UInt8) {
            base.storeBytes(of: value, as: UInt8.self)
            base += 1
        }

        mutating func u16(_ value: UInt16) {
            base.storeBytes(of: value.bigEndian, toByteOffset: 0, as: UInt16.self)
            base += 2
        }

        mutating func u32(_ value: UInt32) {
            base.storeBytes(of: value.bigEndian, toByteOffset: 0, as: UInt32.self)
            base += 4
        }

        mutating func f32le(_ value: Float) {
            base.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
            base += 4
        }
    }
}
