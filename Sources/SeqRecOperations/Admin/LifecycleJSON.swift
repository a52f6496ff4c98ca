// The model-lifecycle endpoints' JSON (docs/OPERATIONS.md §11.6): traffic splits in and out,
// and what a reload did. Strict like every other body: unknown fields, wrong types and
// out-of-range numbers are errors naming the field.
import SeqRecJSON
import SeqRecProtocol

/// One version's share of a traffic split.
public struct VersionShare: Sendable, Equatable {
    public var version: UInt32
    public var weight: UInt32

    public init(version: UInt32, weight: UInt32) {
        self.version = version
        self.weight = weight
    }
}

/// What PUT /v1/models/{name}/traffic asks for.
public struct TrafficUpdate: Sendable, Equatable {
    public enum DefaultChange: Sendable, Equatable {
        /// `default` absent: the pinned default stays as it is.
        case keep
        /// `"default": null`: requests without a split follow the newest version.
        case unpin
        case pin(UInt32)
    }

    /// Empty: no split.
    public var shares: [VersionShare]
    public var defaultVersion: DefaultChange

    public init(shares: [VersionShare], defaultVersion: DefaultChange = .keep) {
        self.shares = shares
        self.defaultVersion = defaultVersion
    }
}

/// A model's routing as GET .../traffic answers it.
public struct TrafficState: Sendable, Equatable {
    public var model: String
    /// Serving versions, ascending.
    public var loadedVersions: [UInt32]
    /// What requests without a key (or without a split) get now.
    public var defaultVersion: UInt32?
    /// Whether `defaultVersion` is pinned (else: the newest loaded version).
    public var pinned: Bool
    public var shares: [VersionShare]
    /// Routings a rollback can go back to.
    public var rollbackDepth: Int

    public init(model: String, loadedVersions: [UInt32], defaultVersion: UInt32?, pinned: Bool, shares: [VersionShare],
                rollbackDepth: Int) {
        self.model = model
        self.loadedVersions = loadedVersions
        self.defaultVersion = defaultVersion
        self.pinned = pinned
        self.shares = shares
        self.rollbackDepth = rollbackDepth
    }
}

/// A version a reload did not publish.
public struct RefusedVersion: Sendable, Equatable {
    public var model: String
    public var version: UInt32
    /// `unreadable`, `corrupt` or `incompatible` (the metric's label).
    public var reason: String
    public var message: String

    public init(model: String, version: UInt32, reason: String, message: String) {
        self.model = model
        self.version = version
        self.reason = reason
        self.message = message
    }
}

/// What one reload did.
public struct LifecycleReport: Sendable, Equatable {
    /// "name@version" of each version published.
    public var loaded: [String] = []
    /// "name@version" of each version retired (released once its requests have ended).
    public var retired: [String] = []
    public var refused: [RefusedVersion] = []
    /// Repository paths that do not fit the layout.
    public var skipped: [String] = []

    public init() {}
}

/// Why a lifecycle call failed: a protocol status and a message.
public struct LifecycleFailure: Error, Sendable, Equatable {
    public var code: StatusCode
    public var message: String

    public init(_ code: StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

public enum LifecycleJSON {
    /// `{"versions": {"3": 90, "4": 10}, "default": 3|null}` (`default` optional).
    public static func trafficUpdate(from body: [UInt8]) throws(JSONInputError) -> TrafficUpdate {
        let object = try JSONObjectReader(JSONValue.parse(body), context: "", allowed: ["versions", "default"])
        guard object.has("versions") else {
            throw JSONInputError(field: "versions", problem: "is missing; send {\"versions\": {\"3\": 90, \"4\": 10}} "
                + "({} removes the split)")
        }
        var change = TrafficUpdate.DefaultChange.keep
        if let value = object.value("default") {
            change = value == .null ? .unpin : .pin(UInt32(try object.integer("default", in: 1...Int64(UInt32.max))!))
        }
        return TrafficUpdate(shares: try shares(object.value("versions"), field: "versions"), defaultVersion: change)
    }

    /// Most versions in one split, and the largest weight of one.
    public static let maxShares = 16
    public static let maxWeight: UInt32 = 1_000_000

    /// `{"V": W, ...}`: versions ≥ 1 without leading zeros, integer weights 0...maxWeight, not all 0.
    public static func shares(_ value: JSONValue?, field: String) throws(JSONInputError) -> [VersionShare] {
        guard let value, value != .null else { return [] }
        guard case .object(let fields) = value else {
            throw JSONInputError(field: field, problem: "must be an object of version → weight, e.g. {\"3\": 90, \"4\": 10}")
        }
        guard fields.count <= maxShares else {
            throw JSONInputError(field: field, problem: "has \(fields.count) versions; at most \(maxShares)")
        }
        var shares: [VersionShare] = []
        for key in fields.keys.sorted(by: { (UInt64($0) ?? .max, $0) < (UInt64($1) ?? .max, $1) }) {
            guard let version = UInt32(key), version > 0, String(version) == key else {
                throw JSONInputError(field: "\(field).\(key.prefix(20))", problem: "is not a version (a positive integer)")
            }
            guard case .int(let weight) = fields[key]!, (0...Int64(maxWeight)).contains(weight) else {
                throw JSONInputError(field: "\(field).\(key)", problem: "must be an integer weight 0...\(maxWeight)")
            }
            shares.append(VersionShare(version: version, weight: UInt32(weight)))
        }
        if !shares.isEmpty, shares.allSatisfy({ $0.weight == 0 }) {
            throw JSONInputError(field: field, problem: "every weight is 0; give at least one version a positive weight")
        }
        return shares
    }

    public static func render(_ state: TrafficState) -> String {
        var out = JSONWriter()
        out.raw("{\"model\":")
        out.string(state.model)
        out.raw(",\"versions\":{")
        out.raw(state.shares.map { "\"\($0.version)\":\($0.weight)" }.joined(separator: ","))
        out.raw("},\"default\":")
        out.raw(state.defaultVersion.map(String.init) ?? "null")
        out.raw(",\"default_pinned\":")
        out.bool(state.pinned)
        out.raw(",\"loaded\":[")
        out.raw(state.loadedVersions.map(String.init).joined(separator: ","))
        out.raw("],\"rollback_depth\":")
        out.integer(state.rollbackDepth)
        out.raw("}\n")
        return out.text
    }

    public static func render(_ report: LifecycleReport) -> String {
        func list(_ values: [String]) -> String { "[" + values.map(JSONWriter.quoted).joined(separator: ",") + "]" }
        var out = JSONWriter()
        out.raw("{\"loaded\":" + list(report.loaded) + ",\"retired\":" + list(report.retired) + ",\"refused\":[")
        for (index, refused) in report.refused.enumerated() {
            if index > 0 { out.raw(",") }
            out.raw("{\"model\":")
            out.string(refused.model)
            out.raw(",\"version\":")
            out.integer(refused.version)
            out.raw(",\"reason\":")
            out.string(refused.reason)
            out.raw(",\"message\":")
            out.string(refused.message)
            out.raw("}")
        }
        out.raw("],\"skipped\":" + list(report.skipped) + "}\n")
        return out.text
    }
}
