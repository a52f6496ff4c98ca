// One admin connection as a pure state machine: received bytes in, requests to dispatch out,
// answers in (in any order, from any thread via the listener), wire bytes out in request order.
// Pipelined requests are answered in the order they arrived (RFC 9112 §9.3.2).

public struct HTTPConnection: Sendable {
    /// A request handed to the router; answer it with `respond(to:with:)`.
    public struct Dispatch: Sendable, Equatable {
        public var sequence: UInt64
        public var request: HTTPRequest
    }

    private struct Slot: Sendable {
        var sequence: UInt64
        var omitBody: Bool
        var close: Bool
        /// Encoded answer; nil while the router works on it.
        var bytes: [UInt8]?
    }

    private var parser: HTTPRequestParser
    private var slots: [Slot] = []
    private var nextSequence: UInt64 = 0
    /// Bytes ready to be written, in order.
    public private(set) var output: [UInt8] = []
    /// No further request is read: the last answer closes the connection.
    public private(set) var isClosing = false

    public init(limits: HTTPLimits = .default) {
        parser = HTTPRequestParser(limits: limits)
    }

    /// True when the listener should read more: not closing, and not too far ahead of the answers.
    public var wantsInput: Bool {
        !isClosing && slots.count < parser.limits.maxPipelinedRequests
    }

    /// Part of a request is buffered (the receive deadline applies).
    public var isInsideRequest: Bool { !isClosing && parser.isInsideRequest }

    /// The parse error that ended the connection, if one did.
    public var failure: HTTPParseError? { parser.failure }

    /// Requests dispatched and not yet answered.
    public var unansweredCount: Int { slots.count { $0.bytes == nil } }

    /// Everything answered and written: the listener closes the socket now.
    public var isFinished: Bool { isClosing && slots.isEmpty && output.isEmpty }

    /// Consumes received bytes; returns the requests now complete. A malformed request is answered
    /// with its error status (after the answers before it) and ends the connection.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [Dispatch] {
        guard !isClosing else { return [] }
        parser.feed(bytes)
        var dispatched: [Dispatch] = []
        while !isClosing, slots.count < parser.limits.maxPipelinedRequests {
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                enqueue(HTTPResponse.text(error.status, error.message), omitBody: false, close: true)
                break
            }
            guard let event else { break }
            switch event {
            case .continueExpected:
                var interim: [UInt8] = []
                interim.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
                slots.append(Slot(sequence: nextSequence, omitBody: false, close: false, bytes: interim))
                nextSequence += 1
            case .request(let request):
                let close = !request.keepsAlive
                slots.append(Slot(sequence: nextSequence, omitBody: request.method == "HEAD", close: close, bytes: nil))
                dispatched.append(Dispatch(sequence: nextSequence, request: request))
                nextSequence += 1
                if close { isClosing = true }
            }
        }
        moveReadyOutput()
        return dispatched
    }

    /// More requests may be parsed from bytes already received once answers have gone out.
    public mutating func resume() -> [Dispatch] { receive([]) }

    /// Records the answer to a dispatched request; unknown sequences are ignored (the connection
    /// was reset meanwhile).
    public mutating func respond(to sequence: UInt64, with response: HTTPResponse) {
        guard let index = slots.firstIndex(where: { $0.sequence == sequence && $0.bytes == nil }) else { return }
        var bytes: [UInt8] = []
        response.encode(into: &bytes, omitBody: slots[index].omitBody, close: slots[index].close)
        slots[index].bytes = bytes
        moveReadyOutput()
    }

    /// The peer closed its sending side: answer what was asked, then close.
    public mutating func peerFinished() {
        isClosing = true
        moveReadyOutput()
    }

    /// The receive deadline passed in the middle of a request: answer 408 and close.
    public mutating func timedOut() {
        guard !isClosing else { return }
        enqueue(.text(.requestTimeout, "the request did not arrive in time"), omitBody: false, close: true)
        moveReadyOutput()
    }

    /// `count` bytes of `output` were written.
    public mutating func consumeOutput(_ count: Int) {
        output.removeFirst(min(count, output.count))
    }

    private mutating func enqueue(_ response: HTTPResponse, omitBody: Bool, close: Bool) {
        var bytes: [UInt8] = []
        response.encode(into: &bytes, omitBody: omitBody, close: close)
        slots.append(Slot(sequence: nextSequence, omitBody: omitBody, close: close, bytes: bytes))
        nextSequence += 1
        isClosing = true
    }

    private mutating func moveReadyOutput() {
        while let first = slots.first, let bytes = first.bytes {
            output.append(contentsOf: bytes)
            slots.removeFirst()
        }
    }
}
