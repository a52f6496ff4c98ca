/// Why a model could not be loaded or bound to a forward pass.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    public let description: String

    package init(_ message: String) { description = message }
}
