// `import SeqRecClient` is all an application needs: the message types of SeqRecProtocol that appear
// in the client's API are re-exported, the codec internals (frames, decoders) are not.
@_exported import enum SeqRecProtocol.HealthStatus
@_exported import enum SeqRecProtocol.ItemIDs
@_exported import struct SeqRecProtocol.ModelDescription
@_exported import struct SeqRecProtocol.ProtocolLimits
@_exported import struct SeqRecProtocol.RecommendRequest
@_exported import struct SeqRecProtocol.RecommendResponse
@_exported import enum SeqRecProtocol.StatusCode
