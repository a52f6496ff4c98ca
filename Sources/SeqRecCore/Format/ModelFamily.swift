/// The model families SeqRec runs; raw values are the family ids of MODELS.md §1.
public enum ModelFamily: String, Sendable, CaseIterable {
    case recboleSASRec = "recbole-sasrec", recboleBERT4Rec = "recbole-bert4rec", recboleGRU4Rec = "recbole-gru4rec"
    case pmixerSASRecV1 = "pmixer-sasrec-v1", pmixerSASRecV2 = "pmixer-sasrec-v2", pmixerSASRecV3 = "pmixer-sasrec-v3"
    case gru4recOfficial = "gru4rec-official"
    case recboleNARM = "recbole-narm", recboleSTAMP = "recbole-stamp", recboleCORE = "recbole-core"
    case recboleSRGNN = "recbole-srgnn", recboleGCSAN = "recbole-gcsan", recboleLightSANs = "recbole-lightsans"
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
