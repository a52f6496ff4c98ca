/// The model families SeqRec runs. Adding a family is one folder under `Families/` and one line here
/// (docs/ARCHITECTURE.md, "Adding a family").
enum FamilyRegistry {
    static let families: [RegisteredFamily] = [
        RegisteredFamily(RecBoleSASRec.self),
        RegisteredFamily(RecBoleBERT4Rec.self),
        RegisteredFamily(RecBoleGRU4Rec.self),
        RegisteredFamily(PmixerSASRec.self),
        RegisteredFamily(OfficialGRU4Rec.self),
        RegisteredFamily(RecBoleNARM.self),
        RegisteredFamily(RecBoleSTAMP.self),
        RegisteredFamily(RecBoleCORE.self),
        RegisteredFamily(RecBoleSRGNN.self),
        RegisteredFamily(RecBoleGCSAN.self),
        RegisteredFamily(RecBoleLightSANs.self),
    ]

    private static let byID: [String: RegisteredFamily] = {
        var map: [String: RegisteredFamily] = [:]
        for family in families {
            for id in family.ids {
                precondition(map[id.rawValue] == nil, "family id '\(id.rawValue)' registered twice")
                map[id.rawValue] = family
            }
        }
        return map
    }()

    /// Every registered id, in registry order.
    static let ids: [ModelFamily] = families.flatMap(\.ids)

    static func family(_ id: ModelFamily) -> RegisteredFamily? { byID[id.rawValue] }
    static func family(id: String) -> RegisteredFamily? { byID[id] }
}

/// A `Family` with its configuration type erased, as the format code and the engine use it.
struct RegisteredFamily: Sendable {
    let ids: [ModelFamily]
    let parameters: @Sendable (ModelFamily) -> [FamilyParameter]
    let upstreamOnlyKeys: Set<String>
    /// Checks ranges and rules (the keys and types must already match) and returns the tensor table.
    let tensors: @Sendable (HyperparameterReader) throws(FormatError) -> TensorTable
    let bind: @Sendable (HyperparameterReader, ModelFile, PackedWeights, Int, StateCacheSettings) throws -> any SequenceEncoder
    let derivedParameters: @Sendable (UpstreamConfig, ModelFamily, [String: [Int]]) throws(FormatError)
        -> [String: HyperparameterValue]

    init<F: Family>(_ family: F.Type) {
        ids = F.ids
        parameters = { F.parameters($0) }
        upstreamOnlyKeys = F.upstreamOnlyKeys
        tensors = { values throws(FormatError) in F.tensors(try F.configuration(values)) }
        bind = { values, file, packing, maxBatch, stateCache in
            let configuration = try F.configuration(values)
            let weights = WeightBinder(file: file, table: F.tensors(configuration), packing: packing)
            let encoder = try F.encoder(configuration, weights: weights, maxBatch: maxBatch,
                                        stateCache: stateCache)
            try weights.finish()
            return encoder
        }
        derivedParameters = { config, id, shapes throws(FormatError) in
            try F.derivedParameters(config, id: id, tensorShapes: shapes)
        }
    }
}

/// Binds a model file to the forward pass of its family; re-laid-out weight copies go to `packing`,
/// which must live as long as the encoder.
/// `stateCache`: the budget of the model's state cache (GRU families, SASRec and NARM; see `StateCache`).
package func makeEncoder(_ file: ModelFile, packing: PackedWeights, maxBatch: Int,
                         stateCache: StateCacheSettings = .off) throws -> any SequenceEncoder {
    guard let family = FamilyRegistry.family(file.family) else {
        throw ModelLoadError("model load: family '\(file.family.rawValue)' has no registered forward pass")
    }
    let values = HyperparameterReader(values: file.hyperparameters, family: file.family, file: file.path)
    return try family.bind(values, file, packing, maxBatch, stateCache)
}
