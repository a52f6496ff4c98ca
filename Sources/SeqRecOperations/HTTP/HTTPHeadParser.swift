// Parsing of one complete request head (request line and header fields) and the body-framing
// rules (RFC 9112 §3, §5, §6). Separate from the buffering state machine so each rule is one
// small function with its own error.

enum HTTPHeadParser {
    typealias Bytes = ArraySlice<UInt8>

    /// tchar of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Field values: visible ASCII, space, tab and obs-text; never other control bytes.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    /// Bytes allowed in an origin-form target: visible ASCII only.
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte >= 0x21 && byte <= 0x7E
    }

    /// Rejects a request line still arriving whose first bytes can never start a valid one
    /// (binary garbage, a TLS ClientHello, the binary protocol's preface).
    static func checkRequestLinePrefix(_ bytes: Bytes) throws(HTTPParseError) {
        var sawSpace = false
        for byte in bytes {
            if byte == UInt8(ascii: " ") {
                if sawSpace { return }  // the target's checks need the whole line
                sawSpace = true
            } else if !sawSpace, !isTokenByte(byte), byte != UInt8(ascii: "\r") {
                throw HTTPParseError(.badRequest, "the request does not start with an HTTP method")
            }
        }
    }

    /// Method, target and minor version of `METHOD SP target SP HTTP/1.x`.
    static func parseRequestLine(_ line: Bytes, limits: HTTPLimits) throws(HTTPParseError)
        -> (method: String, target: String, minorVersion: Int)
    {
        guard line.count <= limits.maxRequestLineBytes else {
            throw HTTPParseError(.uriTooLong, "the request line is longer than \(limits.maxRequestLineBytes) bytes")
        }
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw HTTPParseError(.badRequest, "the request line must be METHOD SP TARGET SP HTTP-VERSION")
        }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else {
            throw HTTPParseError(.badRequest, "the method is not a token")
        }
        guard !target.isEmpty, target.allSatisfy(isTargetByte) else {
            throw HTTPParseError(.badRequest, "the request target is empty or has bytes outside visible ASCII")
        }
        guard target.first == UInt8(ascii: "/") else {
            throw HTTPParseError(.badRequest, "the request target must be a path starting with '/'")
        }
        let versionText = String(decoding: version, as: UTF8.self)
        let minor: Int
        switch versionText {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            let shaped = version.count == 8 && versionText.hasPrefix("HTTP/")
                && version[version.startIndex + 5] >= UInt8(ascii: "0") && version[version.startIndex + 5] <= UInt8(ascii: "9")
                && version[version.startIndex + 6] == UInt8(ascii: ".")
            if shaped {
                throw HTTPParseError(.httpVersionNotSupported, "only HTTP/1.1 and HTTP/1.0 are served here")
            }
            throw HTTPParseError(.badRequest, "the request line does not end in HTTP/1.1")
        }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self), minor)
    }

    /// The request of a complete head (without its final CRLFCRLF); the body is left empty.
    static func parse(_ head: Bytes, limits: HTTPLimits) throws(HTTPParseError) -> HTTPRequest {
        var lines: [Bytes] = []
        var lineStart = head.startIndex
        var index = head.startIndex
        while index < head.endIndex {
            let byte = head[index]
            if byte == UInt8(ascii: "\r") {
                guard index + 1 < head.endIndex, head[index + 1] == UInt8(ascii: "\n") else {
                    throw HTTPParseError(.badRequest, "a bare CR in the request head")
                }
                lines.append(head[lineStart..<index])
                index += 2
                lineStart = index
                continue
            }
            if byte == UInt8(ascii: "\n") { throw HTTPParseError(.badRequest, "lines must end in CRLF") }
            index += 1
        }
        lines.append(head[lineStart..<head.endIndex])
        let (method, target, minor) = try parseRequestLine(lines[0], limits: limits)
        guard lines.count - 1 <= limits.maxHeaderCount else {
            throw HTTPParseError(.requestHeaderFieldsTooLarge, "more than \(limits.maxHeaderCount) header fields")
        }
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() { headers.append(try parseField(line)) }
        let request = HTTPRequest(method: method, target: target, minorVersion: minor, headers: headers)
        let hosts = headers.count { $0.name == "host" }
        if minor == 1, hosts != 1 {
            throw HTTPParseError(.badRequest, hosts == 0 ? "HTTP/1.1 requests need a Host header" : "more than one Host header")
        }
        return request
    }

    /// `name: value` with optional whitespace around the value.
    static func parseField(_ line: Bytes) throws(HTTPParseError) -> (name: String, value: String) {
        guard let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t") else {
            throw HTTPParseError(.badRequest, "folded or empty header lines are not accepted")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
            throw HTTPParseError(.badRequest, "a header line has no ':'")
        }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
            throw HTTPParseError(.badRequest, "a header name is not a token (no spaces before ':')")
        }
        let rawValue = line[(colon + 1)...]
        guard rawValue.allSatisfy(isFieldValueByte) else {
            throw HTTPParseError(.badRequest, "header '\(String(decoding: name, as: UTF8.self).prefix(40))' has a control byte")
        }
        let value = String(decoding: rawValue, as: UTF8.self)[...].trimmingSpaces
        return (String(decoding: name, as: UTF8.self).lowercased(), String(value))
    }

    /// The body length the head announces (RFC 9112 §6.3), within the limits.
    static func bodyLength(of request: HTTPRequest, limits: HTTPLimits) throws(HTTPParseError) -> Int {
        let lengths = request.headers.filter { $0.name == "content-length" }.map(\.value)
        let encodings = request.headers.filter { $0.name == "transfer-encoding" }
        if !encodings.isEmpty {
            guard lengths.isEmpty else {
                throw HTTPParseError(.badRequest, "Transfer-Encoding and Content-Length together are refused")
            }
            throw HTTPParseError(.notImplemented,
                                 "Transfer-Encoding (chunked bodies) is not supported; send the body with Content-Length")
        }
        if let expectation = request.header("expect"), expectation.lowercased() != "100-continue" {
            throw HTTPParseError(.expectationFailed, "only 'Expect: 100-continue' is understood")
        }
        guard let text = lengths.first else {
            if ["POST", "PUT", "PATCH"].contains(request.method) {
                throw HTTPParseError(.lengthRequired, "\(request.method) needs a Content-Length header")
            }
            return 0
        }
        guard lengths.count == 1 else { throw HTTPParseError(.badRequest, "more than one Content-Length header") }
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(text) else {
            throw HTTPParseError(.badRequest, "Content-Length must be a decimal number of at most 18 digits")
        }
        guard length <= limits.maxBodyBytes else {
            throw HTTPParseError(.contentTooLarge, "the body is \(length) bytes; at most \(limits.maxBodyBytes) are accepted")
        }
        return length
    }
}
