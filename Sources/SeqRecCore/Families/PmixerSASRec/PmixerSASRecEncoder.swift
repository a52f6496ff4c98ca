// pmixer/SASRec.pytorch `SASRec` (python/model.py), variants V1, V2 and V3 (MODELS.md §6).
// A fixed left-padded window of T slots, newest item in slot T−1. Only the m real tokens are run: the
// T−m identical pad rows are folded into one extra attention key per block (§6.8, exact).

import Foundation

final class PmixerSASRecEncoder: SequenceEncoder, @unchecked Sendable {
    typealias Configuration = PmixerSASRec.Configuration

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

    init(_ config: Configuration, weights binder: WeightBinder, maxBatch: Int) throws {
        configuration = config
        family = binder.file.family
        let d = config.hiddenUnits, t = config.maxLength
        items = try binder.tensor("item_emb.weight")
        positions = try binder.tensor("pos_emb.weight")
        blocks = try (0..<config.blocks).map {
            try PmixerBlock(binder, index: $0, width: d, heads: config.heads, eps: config.layerNormEps,
                            variant: config.variant)
        }
        lastNorm = try binder.layerNorm("last_layernorm", eps: config.layerNormEps)
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
