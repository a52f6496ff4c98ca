// What a model family declares, once, in its folder (docs/ARCHITECTURE.md, "Adding a family").
// The registry (`FamilyRegistry`) turns these declarations into the converter's schema, the reader's
// consistency check and weight binding; no other file knows a family's keys, rules or tensor names.

/// One hyperparameter a model file of the family stores (FORMAT.md §4): its upstream key, its type, and
/// the value `seqrec convert` uses when an upstream config.json omits it (nil: config.json must state it).
struct FamilyParameter: Sendable {
    let key: String
    let kind: HyperparameterKind
    let converterDefault: HyperparameterValue?

    init(_ key: String, _ kind: HyperparameterKind, default converterDefault: HyperparameterValue? = nil) {
        self.key = key
        self.kind = kind
        self.converterDefault = converterDefault
    }
}

/// A model family: one folder under `Families/` with a type conforming to this protocol and one line in
/// `FamilyRegistry.families`.
protocol Family: SendableMetatype {
    /// The parsed, fully checked hyperparameters the tensor table and the encoder are functions of.
    associatedtype Configuration

    /// The family ids this folder serves (FORMAT.md §4); one folder may serve variants of one upstream model.
    static var ids: [ModelFamily] { get }

    /// The hyperparameters a file of `id` stores, exactly, in canonical order (upstream key names).
    static func parameters(_ id: ModelFamily) -> [FamilyParameter]

    /// Keys an upstream config.json may carry besides `parameters` that do not change the forward pass
    /// (training settings, descriptive notes the exporters write). The converter accepts and drops them;
    /// any other key is refused with the nearest valid key as suggestion.
    static var upstreamOnlyKeys: Set<String> { get }

    /// Reads hyperparameters whose keys and types already match `parameters(values.family)`, checking
    /// every range and rule of the family. This is the only place those rules are written.
    static func configuration(_ values: HyperparameterReader) throws(FormatError) -> Configuration

    /// The exact tensor set of a file (names, shapes as functions of the configuration), in canonical order.
    static func tensors(_ configuration: Configuration) -> TensorTable

    /// Binds the forward pass. Take every tensor from `weights` by a name of `tensors(configuration)`;
    /// binding fails if a declared tensor is left unbound or an undeclared one is asked for.
    /// `stateCache`: the budget of the model's state cache (shared by every context; GRU families, SASRec
    /// and NARM); families without a state cache ignore it.
    static func encoder(_ configuration: Configuration, weights: WeightBinder, maxBatch: Int,
                        stateCache: StateCacheSettings) throws -> any SequenceEncoder

    /// Converter hook: file hyperparameters that come from the checkpoint rather than from config.json
    /// (cross-checked against what config.json states), keyed by parameter. Default: none.
    static func derivedParameters(_ config: UpstreamConfig, id: ModelFamily,
                                  tensorShapes: [String: [Int]]) throws(FormatError) -> [String: HyperparameterValue]
}

extension Family {
    static func derivedParameters(_ config: UpstreamConfig, id: ModelFamily,
                                  tensorShapes: [String: [Int]]) throws(FormatError) -> [String: HyperparameterValue] {
        [:]
    }
}
