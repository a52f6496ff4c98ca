// Writer of the Prometheus text exposition format 0.0.4: one HELP and TYPE line per family, then
// its samples; label values escaped; histograms as cumulative `_bucket{le}`, `_sum`, `_count`.

public struct PrometheusText: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var text = ""

    public init() {}

    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// Starts a metric family.
    public mutating func family(_ name: String, _ kind: Kind, help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name + Self.labelText(labels) + " " + Self.format(value) + "\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        text += name + Self.labelText(labels) + " \(value)\n"
    }

    /// A histogram's samples from per-bucket counts (including +Inf) and the sum in the observed unit.
    public mutating func histogram(_ name: String, _ labels: [(String, String)], layout: HistogramLayout,
                                   buckets: [UInt64], sum: UInt64) {
        var cumulative: UInt64 = 0
        for (index, count) in buckets.enumerated() {
            cumulative &+= count
            let bound = index < layout.upperBounds.count ? Self.format(Double(layout.upperBounds[index]) * layout.scale) : "+Inf"
            sample(name + "_bucket", labels + [("le", bound)], cumulative)
        }
        sample(name + "_sum", labels, Double(sum) * layout.scale)
        sample(name + "_count", labels, cumulative)
    }

    static func labelText(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    /// Shortest round-tripping decimal; integers without a fraction; NaN and infinities as Prometheus spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
