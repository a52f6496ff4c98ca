// The HTTP/1.1 codec fed in memory: whole, byte by byte, pipelined, and the bad-input catalogue
// of docs/OPERATIONS.md §3 (each malformed head answered with its status, then the connection ends).
import Foundation
import Testing
@testable import SeqRecOperations

/// Feeds `wire` to a connection in chunks of `chunk` bytes; returns the dispatched requests.
func dispatch(_ wire: String, chunk: Int = .max, limits: HTTPLimits = .default) -> (HTTPConnection, [HTTPConnection.Dispatch]) {
    var connection = HTTPConnection(limits: limits)
    var all: [HTTPConnection.Dispatch] = []
    let bytes = Array(wire.utf8)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + min(chunk, bytes.count - start))
        all += connection.receive(bytes[start..<end])
        start = end
    }
    return (connection, all)
}

func outputText(_ connection: HTTPConnection) -> String { String(decoding: connection.output, as: UTF8.self) }

@Suite struct HTTPParserTests {
    static let post = "POST /v1/models/m/recommend HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n"
        + "Content-Type: application/json\r\n\r\n{\"session\":1}"

    @Test func parsesARequestWholeAndByteByByte() {
        for chunk in [Int.max, 1, 2, 7] {
            let (connection, dispatched) = dispatch(Self.post, chunk: chunk)
            #expect(dispatched.count == 1)
            let request = dispatched[0].request
            #expect(request.method == "POST")
            #expect(request.path == "/v1/models/m/recommend")
            #expect(request.header("content-type") == "application/json")
            #expect(request.header("HOST") == "x")
            #expect(String(decoding: request.body, as: UTF8.self) == "{\"session\":1}")
            #expect(!connection.isClosing)
            #expect(!connection.isInsideRequest)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInArrivalOrder() {
        let wire = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" + Self.post + "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n"
        var (connection, dispatched) = dispatch(wire, chunk: 5)
        #expect(dispatched.map(\.request.path) == ["/a", "/v1/models/m/recommend", "/c"])
        // Answers come back out of order; the wire order is the request order.
        connection.respond(to: dispatched[2].sequence, with: .text(.ok, "third"))
        connection.respond(to: dispatched[1].sequence, with: .text(.ok, "second"))
        #expect(connection.output.isEmpty)
        connection.respond(to: dispatched[0].sequence, with: .text(.notFound, "first"))
        let text = outputText(connection)
        let first = text.range(of: "404 Not Found")!, second = text.range(of: "second")!, third = text.range(of: "HTTP/1.1 200 OK", range: second.upperBound..<text.endIndex)!
        #expect(first.lowerBound < second.lowerBound && second.lowerBound < third.lowerBound)
        #expect(!text.contains("third"))  // HEAD: headers only
        #expect(text.hasSuffix("Content-Length: 6\r\n\r\n"))
    }

    @Test func connectionCloseAndHTTP10EndTheConnection() {
        var (connection, dispatched) = dispatch("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(dispatched.count == 1)
        connection.respond(to: dispatched[0].sequence, with: .text(.ok, "x"))
        #expect(outputText(connection).contains("Connection: close\r\n"))
        connection.consumeOutput(connection.output.count)
        #expect(connection.isFinished)

        let (old, oldDispatched) = dispatch("GET /a HTTP/1.0\r\n\r\n")
        #expect(oldDispatched.count == 1 && old.isClosing)
        let (kept, keptDispatched) = dispatch("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(keptDispatched.count == 1 && !kept.isClosing)
    }

    @Test func pipeliningDepthIsBounded() {
        var limits = HTTPLimits()
        limits.maxPipelinedRequests = 3
        let wire = String(repeating: "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", count: 5)
        var (connection, dispatched) = dispatch(wire, limits: limits)
        #expect(dispatched.count == 3)
        #expect(!connection.wantsInput)
        for item in dispatched { connection.respond(to: item.sequence, with: .text(.ok, "")) }
        #expect(connection.wantsInput)
        #expect(connection.resume().count == 2)
    }

    @Test func expectContinueGetsAnInterimAnswerBeforeTheBody() {
        var connection = HTTPConnection()
        let head = "POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        #expect(connection.receive(Array(head.utf8)).isEmpty)
        #expect(outputText(connection) == "HTTP/1.1 100 Continue\r\n\r\n")
        let dispatched = connection.receive(Array("{}".utf8))
        #expect(dispatched.count == 1 && dispatched[0].request.body == Array("{}".utf8))
    }

    @Test func leadingEmptyLinesAreIgnoredAndPartialRequestsAreTracked() {
        var connection = HTTPConnection()
        #expect(connection.receive(Array("\r\n\r\n".utf8)).isEmpty)
        #expect(!connection.isInsideRequest)
        #expect(connection.receive(Array("GET /a HT".utf8)).isEmpty)
        #expect(connection.isInsideRequest)
        connection.timedOut()
        #expect(outputText(connection).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(connection.isClosing)
    }

    /// The bad-input catalogue: (name, bytes, status answered).
    static let catalogue: [(String, String, HTTPStatus)] = [
        ("binary garbage", "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", .badRequest),
        ("binary protocol preface", "SRECv1\r\n\u{00}\u{00}", .badRequest),
        ("no version", "GET /\r\nHost: x\r\n\r\n", .badRequest),
        ("absolute-form target", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", .badRequest),
        ("lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", .badRequest),
        ("HTTP/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", .httpVersionNotSupported),
        ("bare LF", "GET / HTTP/1.1\nHost: x\n\n", .badRequest),
        ("bare CR in header", "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", .badRequest),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", .badRequest),
        ("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", .badRequest),
        ("no colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", .badRequest),
        ("control byte in value", "GET / HTTP/1.1\r\nHost: x\u{01}\r\n\r\n", .badRequest),
        ("missing Host", "GET / HTTP/1.1\r\n\r\n", .badRequest),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", .badRequest),
        ("Content-Length not a number", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", .badRequest),
        ("negative Content-Length", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", .badRequest),
        ("Content-Length overflow", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", .badRequest),
        ("two Content-Lengths", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n1", .badRequest),
        ("Content-Length list", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n1", .badRequest),
        ("body too large", "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", .contentTooLarge),
        ("POST without length", "POST /p HTTP/1.1\r\nHost: x\r\n\r\n", .lengthRequired),
        ("chunked body", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", .notImplemented),
        ("chunked and length", "POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", .badRequest),
        ("unknown expectation", "POST /p HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\n", .expectationFailed),
        ("long target", "GET /" + String(repeating: "a", count: 5_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", .uriTooLong),
        ("oversized header", "GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 17_000) + "\r\n\r\n", .requestHeaderFieldsTooLarge),
        ("too many headers", "GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X: 1\r\n", count: 65) + "\r\n", .requestHeaderFieldsTooLarge),
    ]

    @Test(arguments: [Int.max, 1, 3])
    func badInputCatalogue(chunk: Int) {
        for (name, wire, status) in Self.catalogue {
            // A valid request first: it is still answered, then the error, then nothing more.
            var (connection, dispatched) = dispatch("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n" + wire + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n", chunk: chunk)
            #expect(dispatched.map(\.request.path) == ["/ok"], "\(name)")
            connection.respond(to: dispatched[0].sequence, with: .text(.ok, "fine"))
            let text = outputText(connection)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(name)")
            #expect(text.contains("HTTP/1.1 \(status.rawValue) \(status.reasonPhrase)\r\n"), "\(name): \(text.suffix(200))")
            #expect(text.contains("Connection: close\r\n"), "\(name)")
            #expect(connection.isClosing, "\(name)")
            connection.consumeOutput(connection.output.count)
            #expect(connection.isFinished, "\(name)")
        }
    }

    @Test func oversizedHeadIsRejectedWithoutBufferingIt() {
        var connection = HTTPConnection()
        _ = connection.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8))
        for _ in 0..<100 {
            _ = connection.receive(Array(repeating: UInt8(ascii: "a"), count: 1_000))
            if connection.isClosing { break }
        }
        #expect(connection.isClosing)
        #expect(outputText(connection).hasPrefix("HTTP/1.1 431 "))
    }
}
