// pmixer/SASRec.pytorch `SASRec` (python/model.py), variants V1, V2 and V3 (MODELS.md §6).
// A fixed left-padded window of T slots, newest item in slot T−1. Only the m real tokens are run: the
// T−m identical pad rows are folded into one extra attention key per block (§6.8, exact).

import Foundation

final class PmixerSASRec: SequenceEncoder, @unchecked Sendable {
    /// Which upstream block the weights are run through.
    enum Variant {
        case v1          // LN'd-query block, positions by slot, pad rows zeroed (2020-10 … 2024-06)
        case v2          // LN'd-query block, positions 1…T, pads at position 0 (2024-06 … 2025-04)
        case v3PostLN    // norm_first = false (2025-05 …)
        case v3PreLN     // norm_first = true
    }

    /// Hyperparameters under pmixer's argument names; defaults are its `main.py` defaults.
    struct Configuration {
        var variant = Variant.v2
        var hiddenUnits = 50            // hidden_units
        var blocks = 2                  // num_blocks
        var heads = 1                   // num_heads
        var maxLength = 200             // maxlen
        var layerNormEps: Float = 1e-8  // hard-coded upstream
        var itemRows = 0                // itemnum + 1

        init() {}

        init(_ binder: WeightBinder) throws {
            switch binder.file.family {
            case .pmixerSASRecV1: variant = .v1
            case .pmixerSASRecV2: variant = .v2
            default: variant = binder.file.hyperparameters.bool("norm_first") == true ? .v3PreLN : .v3PostLN
            }
            hiddenUnits = try binder.int("hidden_units")
            blocks = try binder.int("num_blocks")
            heads = try binder.int("num_heads")
            maxLength = try binder.int("maxlen")
            layerNormEps = try binder.float("layer_norm_eps")
            itemRows = try binder.int("n_items", atLeast: 2)
            guard hiddenUnits % heads == 0 else { throw ModelLoadError.hyperparameter("num_heads", "must divide hidden_units") }
        }
    }

    let configuration: Configuration
    let items: UnsafePointer<Float>
    let positions: UnsafePointer<Float>
    let blocks: [PmixerBlock]
    let lastNorm: LayerNormLayer
    let scoring: ScoringTable
    let workspaceLayout: WorkspaceLayout
    private let padKeys: UnsafeMutablePointer<Float>   // per block: pad key [d], pad value [d]
    private let regions: PmixerBlock.Regions
    private let embeddingScale: Float

    let family: ModelFamily
    var window: Int { configuration.maxLength }
    var inputItems: Range<Int> { 1..<configuration.itemRows }

    init(_ binder: WeightBinder, maxBatch: Int) throws {
        let config = try Configuration(binder)
        configuration = config
        family = binder.file.family
        let d = config.hiddenUnits, t = config.maxLength
        items = try binder.tensor("item_emb.weight", [config.itemRows, d])
        positions = try binder.tensor("pos_emb.weight", [config.variant == .v1 ? t : t + 1, d])
        blocks = try (0..<config.blocks).map {
            try PmixerBlock(binder, index: $0, width: d, heads: config.heads, eps: config.layerNormEps,
                            variant: config.variant)
        }
        lastNorm = try binder.layerNorm("last_layernorm", width: d, eps: config.layerNormEps)
        scoring = ScoringTable(table: items, bias: nil, rows: config.itemRows, width: d, firstItem: 1)
        embeddingScale = Float(Double(d).squareRoot())
        var layout = WorkspaceLayout()
        regions = PmixerBlock.Regions(&layout, rows: maxBatch * t, maxTokens: t, width: d, sessions: maxBatch)
        workspaceLayout = layout
        padKeys = .allocate(capacity: config.blocks * 2 * d)
        computePadKeys()
    }

    deinit { padKeys.deallocate() }

    /// Pad state per block (§6.8): V1 pads are zero; V2/V3 pads evolve as a one-token sequence.
    private func computePadKeys() {
        let d = configuration.hiddenUnits
        var layout = WorkspaceLayout()
        let local = PmixerBlock.Regions(&layout, rows: 1, maxTokens: 1, width: d, sessions: 1)
        let padState = layout.reserve(d)
        let workspace = Workspace(layout)
        let kernels = Kernels(.forced(.naive))
        let state = workspace.region(padState)
        if configuration.variant != .v1 {
            state.update(from: items, count: d)
            kernels.scale(count: d, alpha: embeddingScale, state)
            kernels.add(count: d, positions, into: state)
        }
        let spans = workspace.intRegion(local.spans)
        spans[0] = 0; spans[1] = 1; spans[2] = 0
        for (index, block) in blocks.enumerated() {
            block.padKeyValue(state, into: padKeys + index * 2 * d, scratch: workspace, regions: local, kernels: kernels)
            if configuration.variant != .v1 {
                block.forward(state, rows: 1, spans: spans, sessions: 1, padKeys: nil, lastRowsInto: nil,
                              workspace: workspace, regions: local, kernels: kernels)
            }
        }
    }

    func encode(_ sessions: ArraySlice<SessionQuery>, workspace: Workspace,
                into readout: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = configuration.hiddenUnits, t = configuration.maxLength
        let x = workspace.region(regions.tokens)
        let spans = workspace.intRegion(regions.spans)
        let firstPosition = configuration.variant == .v1 ? 0 : 1
        var rows = 0
        for (b, session) in sessions.enumerated() {
            let tokens = recentItems(session.items, window: t)
            let pads = t - tokens.count
            spans[3 * b] = rows
            spans[3 * b + 1] = tokens.count
            spans[3 * b + 2] = pads
            for (j, item) in tokens.enumerated() {
                let row = x + (rows + j) * d
                row.update(from: items + Int(item) * d, count: d)
                kernels.scale(count: d, alpha: embeddingScale, row)
                kernels.add(count: d, positions + (pads + firstPosition + j) * d, into: row)
            }
            rows += tokens.count
        }
        for (index, block) in blocks.enumerated() {
            let last = index == blocks.count - 1
            block.forward(x, rows: rows, spans: spans, sessions: sessions.count, padKeys: padKeys + index * 2 * d,
                          lastRowsInto: last ? readout : nil, workspace: workspace, regions: regions, kernels: kernels)
        }
        lastNorm(rows: sessions.count, readout, ldx: d, into: readout, ldo: d, kernels: kernels)
    }
}
