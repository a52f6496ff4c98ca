// Frames with every header field chosen by the caller, for the malformed-input tests of the protocol
// decoder and the server (docs/PROTOCOL.md: a 16-byte header, big-endian).

/// A frame whose header fields are all the caller's; `length` (the bytes after the length field)
/// defaults to the true one, 12 + body.
public func rawFrame(
    length: UInt32? = nil, type: UInt8, flags: UInt8 = 0, reserved: UInt16 = 0,
    requestID: UInt32, aux: UInt32 = 0, body: [UInt8] = []
) -> [UInt8] {
    var out: [UInt8] = []
    let total = length ?? UInt32(12 + body.count)
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: total >> UInt32(shift))) }
    out.append(type)
    out.append(flags)
    out.append(UInt8(reserved >> 8))
    out.append(UInt8(truncatingIfNeeded: reserved))
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: requestID >> UInt32(shift))) }
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: aux >> UInt32(shift))) }
    return out + body
}
