import Foundation
import Testing
@testable import SeqRecCore

/// The registry and the binding contract every family folder relies on (docs/ARCHITECTURE.md).
@Suite("Families: registry and weight binding")
struct FamilyRegistryTests {
    @Test("every id is registered once and resolves to the family that declares it")
    func idsResolve() throws {
        let ids = ModelFamily.allCases.map(\.rawValue)
        #expect(Set(ids).count == ids.count)
        for id in ["recbole-sasrec", "recbole-bert4rec", "recbole-gru4rec", "pmixer-sasrec-v1", "pmixer-sasrec-v2",
                   "pmixer-sasrec-v3", "gru4rec-official"] {
            let family = try #require(ModelFamily(rawValue: id))
            #expect(try #require(FamilyRegistry.family(family)).ids.contains(family))
        }
        #expect(ModelFamily(rawValue: "recbole-sasrec ") == nil)
        #expect(ModelFamily(rawValue: "") == nil)
    }

    @Test("parameters and upstream-only keys never overlap", arguments: FamilyRegistry.families)
    func keysAreDisjoint(_ family: RegisteredFamily) {
        for id in family.ids {
            let parameters = Set(family.parameters(id).map(\.key))
            #expect(parameters.contains("n_items"))
            #expect(parameters.isDisjoint(with: family.upstreamOnlyKeys), "\(id): \(parameters.intersection(family.upstreamOnlyKeys))")
        }
    }

    /// A small valid file of `family`, opened.
    func smallModel(_ family: ModelFamily = .recboleGRU4Rec) throws -> ModelFile {
        try ModelFile.open(path: FormatTestSupport.write(FormatTestSupport.smallFile(family)))
    }

    func binder(_ file: ModelFile) throws -> WeightBinder {
        let table = try FamilySchema.tensorTable(file.hyperparameters, family: file.family, file: file.path)
        return WeightBinder(file: file, table: table, packing: PackedWeights())
    }

    @Test("shapes come from the table; asking for an undeclared tensor is a load error")
    func undeclaredTensor() throws {
        let weights = try binder(try smallModel())
        #expect(try weights.shape("dense.weight") == [3, 4])
        let dense = try weights.linear("dense")
        #expect(dense.inputWidth == 4 && dense.outputWidth == 3 && dense.bias != nil)
        #expect {
            _ = try weights.tensor("dense.weights")
        } throws: { error in
            error is ModelLoadError && "\(error)".contains("'dense.weights', which its tensor table does not declare")
        }
    }

    @Test("a declared tensor left unbound is a load error naming it")
    func unboundTensor() throws {
        let weights = try binder(try smallModel())
        _ = try weights.tensor("item_embedding.weight")
        #expect {
            try weights.finish()
        } throws: { error in
            error is ModelLoadError && "\(error)".contains("leaves declared tensor 'gru_layers.weight_ih_l0' unused")
        }
    }

    @Test("every registered family binds every declared tensor of a small file", arguments: [
        (ModelFamily.recboleSASRec, "constrained"), (.recboleBERT4Rec, "constrained"), (.recboleGRU4Rec, "constrained"),
        (.pmixerSASRecV1, "constrained"), (.pmixerSASRecV2, "constrained"), (.pmixerSASRecV3, "constrained"),
        (.gru4recOfficial, "constrained"), (.gru4recOfficial, "separate"), (.gru4recOfficial, "onehot"),
    ])
    func bindsCompletely(_ family: ModelFamily, _ mode: String) throws {
        let bytes = try FormatTestSupport.smallWriter(family, mode: mode).serialize()
        let file = try ModelFile.open(path: FormatTestSupport.write(bytes))
        let packing = PackedWeights()
        let encoder = try makeEncoder(file, packing: packing, maxBatch: 2)
        #expect(encoder.family == family)
        withExtendedLifetime(packing) {}
    }

    @Test("range-checked reads name the key, the value and the range")
    func readerErrors() throws {
        let values = HyperparameterReader(values: Hyperparameters([
            ("t", .float(0.07)), ("nan", .float(.nan)), ("act", .string("elu")), ("heads", .int(3)), ("w", .int(8)),
            ("layers", .ints([4, 0])),
        ]), family: .recboleSASRec, file: "f")
        #expect(try values.float("t", 0.001 ... 100) == Float(0.07))
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        #expect(message { _ = try values.float("t", 1 ... 2) }.contains("'t': is 0.07, expected 1.0 … 2.0"))
        #expect(message { _ = try values.float("nan", 0 ... 1) }.contains("'nan': is nan"))
        #expect(message { _ = try values.choice("act", Activation.self) }
            .contains("'act': is \"elu\", expected one of gelu, relu, swish, tanh, sigmoid"))
        #expect(message { _ = try values.heads("heads", dividing: 8, widthKey: "w") }.contains("3 does not divide w 8"))
        #expect(message { _ = try values.widths("layers", count: 1 ... 4) }.contains("entry 1 is 0"))
        #expect(message { _ = try values.width("missing") }.contains("'missing': is missing"))
    }
}
