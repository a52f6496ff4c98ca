// The admin port's HTTP/1.1 request parser (RFC 9112), a pure state machine: bytes in, requests
// out, no I/O. Strict by design (docs/OPERATIONS.md §3): CRLF line ends only, no obs-fold, token
// methods and header names, origin-form targets, one Host, one Content-Length, no
// Transfer-Encoding. Every length is bounded by `HTTPLimits` before bytes are kept for it.

public struct HTTPRequestParser: Sendable {
    /// What `next()` found.
    public enum Event: Sendable, Equatable {
        case request(HTTPRequest)
        /// The head asked `Expect: 100-continue` and its body has not arrived: send `100 Continue`.
        case continueExpected
    }

    private enum State: Sendable {
        case head
        case body(HTTPRequest, length: Int)
        case failed(HTTPParseError)
    }

    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    /// Bytes before this index are consumed.
    private var start = 0
    /// Where the search for the end of the head resumes (it never rescans old bytes).
    private var scanned = 0
    private var state = State.head
    private var continueSent = false
    /// The current head's request line has arrived and was valid.
    private var requestLineChecked = false

    public init(limits: HTTPLimits = .default) {
        self.limits = limits
    }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        if case .failed = state { return }  // nothing after a framing error is read
        buffer.append(contentsOf: bytes)
    }

    /// Unconsumed bytes held.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True while part of a request has arrived but not all of it (the listener's receive
    /// deadline runs then).
    public var isInsideRequest: Bool {
        switch state {
        case .head: buffer[start...].contains { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        case .body: true
        case .failed: false
        }
    }

    /// The error that stopped the parser, if any.
    public var failure: HTTPParseError? {
        if case .failed(let error) = state { return error }
        return nil
    }

    /// The next complete request, a 100-continue prompt, or nil when more bytes are needed.
    public mutating func next() throws(HTTPParseError) -> Event? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            buffer = []
            start = 0
            throw error
        }
    }

    private mutating func step() throws(HTTPParseError) -> Event? {
        switch state {
        case .failed(let error):
            throw error
        case .head:
            guard let headEnd = try findHeadEnd() else { return nil }
            var request = try HTTPHeadParser.parse(buffer[start..<headEnd], limits: limits)
            start = headEnd + 4
            scanned = start
            requestLineChecked = false
            let length = try HTTPHeadParser.bodyLength(of: request, limits: limits)
            if length == 0 {
                compact()
                return .request(request)
            }
            request.body.reserveCapacity(length)  // safe: length ≤ limits.maxBodyBytes
            state = .body(request, length: length)
            continueSent = false
            return try step()
        case .body(var request, let length):
            let available = min(length - request.body.count, bufferedByteCount)
            if available == 0, request.body.isEmpty, !continueSent,
               request.header("expect")?.lowercased() == "100-continue" {
                continueSent = true
                return .continueExpected
            }
            state = .head  // drop the state's copy so `request.body` is uniquely owned while it grows
            request.body.append(contentsOf: buffer[start..<(start + available)])
            start += available
            scanned = start
            guard request.body.count == length else {
                state = .body(request, length: length)
                return nil
            }
            compact()
            return .request(request)
        }
    }

    /// The index of the CRLFCRLF ending the head, nil while it has not arrived. Throws when the
    /// head passes a limit or the bytes cannot be the start of a request.
    private mutating func findHeadEnd() throws(HTTPParseError) -> Int? {
        // Empty lines before a request are ignored (RFC 9112 §2.2), within the header budget.
        while bufferedByteCount >= 2, buffer[start] == UInt8(ascii: "\r"), buffer[start + 1] == UInt8(ascii: "\n") {
            start += 2
        }
        scanned = max(scanned, start)
        var index = max(start, scanned - 3)
        let end = buffer.count
        while index + 3 < end {
            if buffer[index] == UInt8(ascii: "\r"), buffer[index + 1] == UInt8(ascii: "\n"),
               buffer[index + 2] == UInt8(ascii: "\r"), buffer[index + 3] == UInt8(ascii: "\n") {
                guard index - start + 4 <= limits.maxHeaderBytes else { throw headTooLarge }
                return index
            }
            index += 1
        }
        scanned = end
        // Reject early what can never become a valid head, so garbage costs one read.
        let pending = buffer[start..<end]
        if !requestLineChecked {
            if let lineEnd = pending.firstIndex(of: UInt8(ascii: "\n")) {
                guard lineEnd > start, buffer[lineEnd - 1] == UInt8(ascii: "\r") else {
                    throw HTTPParseError(.badRequest, "lines must end in CRLF")
                }
                _ = try HTTPHeadParser.parseRequestLine(buffer[start..<(lineEnd - 1)], limits: limits)
                requestLineChecked = true
            } else {
                try HTTPHeadParser.checkRequestLinePrefix(pending.prefix(64))
                if pending.count > limits.maxRequestLineBytes {
                    throw HTTPParseError(.uriTooLong, "the request line is longer than \(limits.maxRequestLineBytes) bytes")
                }
            }
        }
        if pending.count > limits.maxHeaderBytes { throw headTooLarge }
        return nil
    }

    private var headTooLarge: HTTPParseError {
        HTTPParseError(.requestHeaderFieldsTooLarge, "the request head is longer than \(limits.maxHeaderBytes) bytes")
    }

    /// Drops consumed bytes once they are the larger part of the buffer (amortised O(1) per byte).
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            start = 0
            scanned = 0
        } else if start > 4_096, start * 2 > buffer.count {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
    }
}
