// One decoded frame of any type: the single switch server and client dispatch on.

/// A frame's body decoded according to its header type.
public enum Message: Sendable, Equatable {
    case hello(Hello)
    case helloAck(HelloAck)
    case recommend(RecommendRequest)
    case recommendResponse(RecommendResponse)
    case error(ErrorBody)
    case ping(Ping)
    case pong(Pong)
    case goAway(GoAway)
    case health(HealthRequest)
    case healthResponse(HealthResponse)
    case cancel(Cancel)
    case modelInfo(ModelInfoRequest)
    case modelList(ModelListResponse)

    /// Decodes `frame.body` as the message its header type names. A thrown error is a payload
    /// violation: for a request frame answer ERROR (`error.status`) with the frame's id; for a
    /// connection-level frame (`frame.header.type.isConnectionLevel`) send GOAWAY and close.
    /// `version` is the connection's negotiated protocol version.
    public init(decoding frame: Frame, limits: ProtocolLimits = .default, version: UInt16 = 1) throws(ProtocolError) {
        let body = frame.body
        switch frame.header.type {
        case .hello: self = .hello(try Hello(decoding: body, limits: limits))
        case .helloAck: self = .helloAck(try HelloAck(decoding: body, limits: limits))
        case .recommend: self = .recommend(try RecommendRequest(decoding: body, limits: limits, version: version))
        case .recommendResponse:
            self = .recommendResponse(try RecommendResponse(decoding: body, limits: limits, version: version))
        case .error: self = .error(try ErrorBody(decoding: body, limits: limits))
        case .ping: self = .ping(try Ping(decoding: body, limits: limits))
        case .pong: self = .pong(try Pong(decoding: body, limits: limits))
        case .goAway: self = .goAway(try GoAway(decoding: body, limits: limits))
        case .health: self = .health(try HealthRequest(decoding: body, limits: limits))
        case .healthResponse: self = .healthResponse(try HealthResponse(decoding: body, limits: limits))
        case .cancel: self = .cancel(try Cancel(decoding: body, limits: limits))
        case .modelInfo: self = .modelInfo(try ModelInfoRequest(decoding: body, limits: limits))
        case .modelList: self = .modelList(try ModelListResponse(decoding: body, limits: limits))
        }
    }

    /// The message as its body type, for encoding it again.
    public var body: any FrameBody {
        switch self {
        case .hello(let body): body
        case .helloAck(let body): body
        case .recommend(let body): body
        case .recommendResponse(let body): body
        case .error(let body): body
        case .ping(let body): body
        case .pong(let body): body
        case .goAway(let body): body
        case .health(let body): body
        case .healthResponse(let body): body
        case .cancel(let body): body
        case .modelInfo(let body): body
        case .modelList(let body): body
        }
    }
}
