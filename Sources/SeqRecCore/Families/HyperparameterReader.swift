/// Ranges shared by every family: generous for real models, small enough that tensor sizes and
/// workspace arithmetic cannot overflow.
enum FamilyLimits {
    static let maxWidth: Int64 = 65536
    static let maxLayers: Int64 = 64
    static let maxLength: Int64 = 100_000
    static let maxItems: Int64 = Int64(Int32.max)
}

/// Typed, range-checked reads of a family's hyperparameters; every failure is a `FormatError` naming the
/// key, its value and the expected range. Used by `Family.configuration`, the one place rules live.
struct HyperparameterReader {
    let values: Hyperparameters
    let family: ModelFamily
    let file: String

    func error(_ key: String, _ problem: String, hint: String? = nil) -> FormatError {
        FormatError(file: file, field: "hyperparameter '\(key)'", problem: problem, hint: hint)
    }

    private func shown(_ key: String) -> String { values.value(key)?.displayText ?? "missing" }

    func int(_ key: String, _ range: ClosedRange<Int64>) throws(FormatError) -> Int {
        guard case .int(let value)? = values.value(key), range.contains(value) else {
            throw error(key, "is \(shown(key)), expected \(range.lowerBound) … \(range.upperBound)")
        }
        return Int(value)
    }

    /// A width, layer count, window length or item count within the shared limits.
    func width(_ key: String) throws(FormatError) -> Int { try int(key, 1 ... FamilyLimits.maxWidth) }
    func layers(_ key: String) throws(FormatError) -> Int { try int(key, 1 ... FamilyLimits.maxLayers) }
    func length(_ key: String, minimum: Int64 = 1) throws(FormatError) -> Int {
        try int(key, minimum ... FamilyLimits.maxLength)
    }
    func items(_ key: String, minimum: Int64) throws(FormatError) -> Int {
        try int(key, minimum ... FamilyLimits.maxItems)
    }

    /// A head count that divides `width` (the value of `widthKey`).
    func heads(_ key: String, dividing width: Int, widthKey: String) throws(FormatError) -> Int {
        let heads = try int(key, 1 ... Int64(width))
        guard width % heads == 0 else { throw error(key, "\(heads) does not divide \(widthKey) \(width)") }
        return heads
    }

    /// A layer-norm ε: finite, 0 < ε < 1.
    func epsilon(_ key: String) throws(FormatError) -> Float {
        guard let value = values.float(key), value.isFinite, value > 0, value < 1 else {
            throw error(key, "is \(shown(key)), expected 0 < ε < 1")
        }
        return Float(value)
    }

    /// A finite float within `range` (a scale, a temperature, …).
    func float(_ key: String, _ range: ClosedRange<Double>) throws(FormatError) -> Float {
        guard let value = values.float(key), value.isFinite, range.contains(value) else {
            throw error(key, "is \(shown(key)), expected \(range.lowerBound) … \(range.upperBound)")
        }
        return Float(value)
    }

    func bool(_ key: String) throws(FormatError) -> Bool {
        guard let value = values.bool(key) else { throw error(key, "is \(shown(key)), expected a bool") }
        return value
    }

    /// A string naming one of the cases of `T` (raw values are the upstream spellings).
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, _ type: T.Type) throws(FormatError) -> T
    where T.RawValue == String {
        guard let text = values.string(key), let value = T(rawValue: text) else {
            throw error(key, "is \(shown(key)), expected one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    /// A list of `count` widths, each within the shared width limit.
    func widths(_ key: String, count: ClosedRange<Int>) throws(FormatError) -> [Int] {
        let list = values.ints(key) ?? []
        guard count.contains(list.count) else {
            throw error(key, "has \(list.count) entries, expected \(count.lowerBound) … \(count.upperBound)")
        }
        for (index, width) in list.enumerated() where !(1 ... Int(FamilyLimits.maxWidth)).contains(width) {
            throw error(key, "entry \(index) is \(width), expected 1 … \(FamilyLimits.maxWidth)")
        }
        return list
    }
}
