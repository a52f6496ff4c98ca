// Helpers shared by the protocol tests: hex conversion and a decoder driver (frames with chosen
// header fields: SeqRecTestSupport's rawFrame).
import SeqRecProtocol

/// Bytes from a hex string; spaces are ignored. Test literals only.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { $0 != " " })
    precondition(digits.count % 2 == 0, "odd hex literal")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

/// A frame copied out of the decoder, independent of its buffer.
struct OwnedFrame: Equatable {
    var header: FrameHeader
    var body: [UInt8]

    init(_ frame: Frame) {
        header = frame.header
        body = Array(frame.body)
    }
}

/// Feeds `chunks` in order, draining frames after each, and returns every frame decoded.
func decodeAll(
    _ chunks: [[UInt8]], role: FrameDecoder.Role, limits: ProtocolLimits = .default
) throws(ProtocolError) -> [OwnedFrame] {
    var decoder = FrameDecoder(role: role, limits: limits)
    var frames: [OwnedFrame] = []
    for chunk in chunks {
        decoder.feed(chunk)
        while let frame = try decoder.next() { frames.append(OwnedFrame(frame)) }
    }
    return frames
}

/// The error thrown while decoding `chunks`, or nil when all of them decode.
func decodeError(
    _ chunks: [[UInt8]], role: FrameDecoder.Role, limits: ProtocolLimits = .default
) -> ProtocolError? {
    do {
        _ = try decodeAll(chunks, role: role, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// Preface + HELLO: what a server decoder must see before requests.
let clientOpening: [UInt8] = ConnectionPreface.bytes + Hello().frameBytes(requestID: 0)
