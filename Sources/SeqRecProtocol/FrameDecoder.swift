// The pure framing state machine shared by server and client (docs/PROTOCOL.md §3–§5, §11).
// It owns one reusable byte buffer, never allocates by a length read from the wire, and rejects a
// bad header as soon as its bytes are present: the length after 4 bytes, the rest after 16.
//
//   server:  preface ─▶ awaitingHello (HELLO | HEALTH*) ─HELLO▶ open ─error▶ failed
//   client:  open ─error▶ failed
// A failed decoder keeps throwing its first error: the connection is unusable.

/// Splits a byte stream into validated frames.
public struct FrameDecoder: Sendable {
    /// Which end of the connection this decoder runs on; it decides the preface, the allowed frame
    /// directions and the handshake rule.
    public enum Role: Sendable {
        /// Decodes client frames: expects the preface, then HEALTH* HELLO.
        case server
        /// Decodes server frames.
        case client
    }

    private enum Phase: Sendable {
        case preface(matched: Int)
        case awaitingHello
        case open
        case failed(ProtocolError)
    }

    public let role: Role
    public let maxFrameLength: Int
    private var phase: Phase
    private var buffer: [UInt8] = []
    private var readIndex = 0

    /// Compaction threshold: consumed bytes are moved out only past this many, so small frames
    /// cost no memmove each.
    private static let compactionThreshold = 64 * 1024

    public init(role: Role, limits: ProtocolLimits = .default) {
        self.role = role
        self.maxFrameLength = limits.maxFrameLength
        self.phase = role == .server ? .preface(matched: 0) : .open
    }

    /// Bytes received and not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Capacity of the internal buffer, for tests and memory accounting.
    package var bufferCapacity: Int { buffer.capacity }

    /// True while part of a frame (or of the preface) has arrived: the server's frame-read timer runs.
    public var isInsideFrame: Bool {
        if case .preface(let matched) = phase, matched > 0 { return true }
        return bufferedByteCount > 0
    }

    /// The error that stopped this decoder, if any.
    public var failure: ProtocolError? {
        if case .failed(let error) = phase { return error }
        return nil
    }

    /// Gives the buffer back when nothing is buffered and it grew past `limit` bytes (one large frame
    /// must not pin its size for the rest of a long-lived connection).
    package mutating func releaseCapacityIfDrained(above limit: Int) {
        guard readIndex == buffer.count, buffer.capacity > limit else { return }
        buffer = []
        readIndex = 0
    }

    /// Appends received bytes. Call `next()` until it returns nil after each feed; then the buffer
    /// never holds more than one partial frame plus the last chunk fed.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= Self.compactionThreshold || readIndex > buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next complete frame, nil if more bytes are needed, or throws the framing
    /// violation found (and keeps throwing it).
    public mutating func next() throws(ProtocolError) -> Frame? {
        do {
            return try decodeNext()
        } catch {
            phase = .failed(error)
            throw error
        }
    }

    private mutating func decodeNext() throws(ProtocolError) -> Frame? {
        switch phase {
        case .failed(let error):
            throw error
        case .preface(let matched):
            guard try matchPreface(alreadyMatched: matched) else { return nil }
        case .awaitingHello, .open:
            break
        }
        guard bufferedByteCount >= 4 else { return nil }
        let length = BodyReader.u32(buffer[...], at: readIndex)
        guard length >= FrameHeader.minimumLength, length <= maxFrameLength else {
            throw .frameLengthOutOfRange(
                length: length, minimum: FrameHeader.minimumLength, maximum: maxFrameLength)
        }
        guard bufferedByteCount >= FrameHeader.size else { return nil }
        let header = try validatedHeader(at: readIndex)
        let frameSize = 4 + Int(length)  // safe: length ≤ maxFrameLength, an Int
        guard bufferedByteCount >= frameSize else { return nil }
        let body = buffer[(readIndex + FrameHeader.size)..<(readIndex + frameSize)]
        readIndex += frameSize
        advanceHandshake(for: header.type)
        return Frame(header: header, body: body)
    }

    /// Compares the buffered bytes with the preface; true once all 8 bytes matched.
    private mutating func matchPreface(alreadyMatched: Int) throws(ProtocolError) -> Bool {
        var matched = alreadyMatched
        let preface = ConnectionPreface.bytes
        while matched < preface.count, readIndex < buffer.count {
            let byte = buffer[readIndex]
            guard byte == preface[matched] else { throw .badPreface(offset: matched, byte: byte) }
            matched += 1
            readIndex += 1
        }
        phase = matched == preface.count ? .awaitingHello : .preface(matched: matched)
        return matched == preface.count
    }

    private func validatedHeader(at start: Int) throws(ProtocolError) -> FrameHeader {
        let rawType = buffer[start + 4]
        guard let type = FrameType(rawValue: rawType) else { throw .unknownFrameType(rawType) }
        switch (role, type.direction) {
        case (.server, .serverToClient), (.client, .clientToServer):
            throw .unexpectedFrameType(type)
        default:
            break
        }
        let flags = FrameFlags(rawValue: buffer[start + 5])
        if flags.contains(.compressed) { throw .compressionNotSupported(type) }
        guard FrameFlags.defined.isSuperset(of: flags), type == .error || !flags.contains(.notProcessed) else {
            throw .invalidFlags(type, flags: flags.rawValue)
        }
        let reserved = UInt16(buffer[start + 6]) << 8 | UInt16(buffer[start + 7])
        guard reserved == 0 else { throw .reservedFieldNotZero(type, value: reserved) }
        let requestID = BodyReader.u32(buffer[...], at: start + 8)
        if type.isConnectionLevel {
            guard requestID == 0 else { throw .requestIDMustBeZero(type, requestID: requestID) }
        } else {
            guard requestID != 0 else { throw .requestIDMissing(type) }
        }
        let aux = BodyReader.u32(buffer[...], at: start + 12)
        guard type.usesAux || aux == 0 else { throw .auxMustBeZero(type, aux: aux) }
        if role == .server, case .awaitingHello = phase, type != .hello, type != .health {
            throw .helloRequired(type)
        }
        if role == .server, case .open = phase, type == .hello { throw .duplicateHello }
        return FrameHeader(type: type, flags: flags, requestID: requestID, aux: aux)
    }

    private mutating func advanceHandshake(for type: FrameType) {
        if case .awaitingHello = phase, type == .hello { phase = .open }
    }
}
