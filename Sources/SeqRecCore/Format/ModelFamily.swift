/// A model family id (FORMAT.md §4, MODELS.md §1), such as `recbole-sasrec`. Known ids are the ones
/// `FamilyRegistry` lists; each family's folder declares its ids as static members (`.recboleSASRec`).
public struct ModelFamily: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// A registered family id; nil for any other string.
    public init?(rawValue: String) {
        guard FamilyRegistry.family(id: rawValue) != nil else { return nil }
        self.rawValue = rawValue
    }

    /// Declares an id; only family folders call this (their `ids`).
    init(declaring id: String) { rawValue = id }

    /// Every registered family id, in registry order.
    public static var allCases: [ModelFamily] { FamilyRegistry.ids }

    public var description: String { rawValue }
}

/// Element types of stored tensors (FORMAT.md §8). Version 1 families use only `f32`; the others are
/// reserved codes that the reader parses and size-checks so later versions can add them.
public enum DType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, bf16 = 2, int8 = 3

    public var byteSize: UInt64 {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .int8: 1
        }
    }

    public var name: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .int8: "int8"
        }
    }
}
