// One pmixer SASRec block (a family-specific layer: it lives with its family) over packed real tokens (MODELS.md §6.5), with the folded pad key (§6.8).
//   R packed token rows, d width, B sessions
//   x [R, d] → x [R, d] (full pass) or → y [B, d] (each session's last row only, last block)
//   spans: per session (first row, token count, pad count P)

import Foundation

struct PmixerBlock {
    let attentionNorm, feedForwardNorm: LayerNormLayer
    let query, key, value, output: Linear
    let conv1, conv2: Linear
    let attention: Attention
    let variant: PmixerSASRec.Variant

    var width: Int { query.outputWidth }

    init(_ binder: WeightBinder, index: Int, width d: Int, heads: Int, eps: Float, variant: PmixerSASRec.Variant) throws {
        let names = PmixerSASRec.BlockNames(index)
        attentionNorm = try binder.layerNorm(names.attentionNorm, eps: eps)
        feedForwardNorm = try binder.layerNorm(names.forwardNorm, eps: eps)
        let inWeights = try binder.tensor(names.attention + "in_proj_weight")
        let inBias = try binder.tensor(names.attention + "in_proj_bias")
        query = binder.linear(weight: inWeights, bias: inBias, input: d, output: d)
        key = binder.linear(weight: inWeights + d * d, bias: inBias + d, input: d, output: d)
        value = binder.linear(weight: inWeights + 2 * d * d, bias: inBias + 2 * d, input: d, output: d)
        output = try binder.linear(names.attention + "out_proj")
        // A 1×1 convolution [out, in, 1] is a linear map [out, in].
        conv1 = binder.linear(weight: try binder.tensor(names.forward + "conv1.weight"),
                              bias: try binder.tensor(names.forward + "conv1.bias"), input: d, output: d)
        conv2 = binder.linear(weight: try binder.tensor(names.forward + "conv2.weight"),
                              bias: try binder.tensor(names.forward + "conv2.bias"), input: d, output: d)
        attention = Attention(heads: heads, headWidth: d / heads, causal: true, scaling: .queryFirst)
        self.variant = variant
    }

    struct Regions {
        let tokens, spans, normed, queryNormed, q, k, v, context, sum, inner, scores: Int

        init(_ layout: inout WorkspaceLayout, rows: Int, maxTokens: Int, width d: Int, sessions: Int) {
            tokens = layout.reserve(rows * d)
            spans = layout.reserveInts(3 * sessions)
            normed = layout.reserve(rows * d)
            queryNormed = layout.reserve(rows * d)
            q = layout.reserve(rows * d)
            k = layout.reserve(rows * d)
            v = layout.reserve(rows * d)
            context = layout.reserve(rows * d)
            sum = layout.reserve(rows * d)
            inner = layout.reserve(rows * d)
            scores = layout.reserve(maxTokens * (maxTokens + 1))
        }
    }

    /// The key and value a pad row with state `padState` presents to later rows: [key d | value d].
    func padKeyValue(_ padState: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                     scratch: Workspace, regions: Regions, kernels: Kernels) {
        var input = UnsafePointer(padState)
        if variant == .v3PreLN {
            let normed = scratch.region(regions.normed)
            attentionNorm(rows: 1, padState, ldx: width, into: normed, ldo: width, kernels: kernels)
            input = UnsafePointer(normed)
        }
        key(rows: 1, input, ldx: width, into: out, ldo: width, kernels: kernels)
        value(rows: 1, input, ldx: width, into: out + width, ldo: width, kernels: kernels)
    }

    /// Runs the block. With `lastRowsInto`, only each session's last row is computed and written there.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, spans: UnsafePointer<Int>, sessions: Int,
                 padKeys: UnsafePointer<Float>?, lastRowsInto last: UnsafeMutablePointer<Float>?,
                 workspace: Workspace, regions r: Regions, kernels: Kernels) {
        let d = width
        let normed = workspace.region(r.normed), queryNormed = workspace.region(r.queryNormed)
        let q = workspace.region(r.q), k = workspace.region(r.k), v = workspace.region(r.v)
        let context = workspace.region(r.context), sum = workspace.region(r.sum), inner = workspace.region(r.inner)
        var keyInput = UnsafePointer(x)
        if variant == .v3PreLN {
            attentionNorm(rows: rows, x, ldx: d, into: normed, ldo: d, kernels: kernels)
            keyInput = UnsafePointer(normed)
        }
        key(rows: rows, keyInput, ldx: d, into: k, ldo: d, kernels: kernels)
        value(rows: rows, keyInput, ldx: d, into: v, ldo: d, kernels: kernels)

        let y = last ?? x
        let queryRows = last == nil ? rows : sessions
        if let last {
            for b in 0..<sessions { (last + b * d).update(from: x + (spans[3 * b] + spans[3 * b + 1] - 1) * d, count: d) }
        }
        var queryInput = UnsafePointer(y)
        if variant != .v3PostLN {
            attentionNorm(rows: queryRows, y, ldx: d, into: queryNormed, ldo: d, kernels: kernels)
            queryInput = UnsafePointer(queryNormed)
        }
        query(rows: queryRows, queryInput, ldx: d, into: q, ldo: d, kernels: kernels)
        for b in 0..<sessions {
            let start = spans[3 * b], count = spans[3 * b + 1], pads = spans[3 * b + 2]
            let pad = pads > 0 ? padKeys.map { PadKey(key: $0, value: $0 + d, logCount: Float(log(Double(pads)))) } : nil
            let queryRow = last == nil ? start : b
            attention(query: q + queryRow * d, ldq: d, queryCount: last == nil ? count : 1, keys: k + start * d, ldk: d,
                      values: v + start * d, ldv: d, keyCount: count, padKey: pad,
                      scratch: workspace.region(r.scores), into: context + queryRow * d, ldo: d, kernels: kernels)
        }
        output(rows: queryRows, context, ldx: d, into: sum, ldo: d, kernels: kernels)
        let n = queryRows * d
        switch variant {
        case .v1, .v2:
            kernels.add(count: n, queryNormed, into: sum)                       // X' = LN_a(x) + MHA
            feedForwardNorm(rows: queryRows, sum, ldx: d, into: y, ldo: d, kernels: kernels)   // B = LN_f(X')
            feedForward(rows: queryRows, y, into: sum, scratch: inner, kernels: kernels)
            kernels.add(count: n, sum, into: y)                                  // B + FF(B)
        case .v3PostLN:
            kernels.add(count: n, y, into: sum)
            attentionNorm(rows: queryRows, sum, ldx: d, into: y, ldo: d, kernels: kernels)    // X' = LN_a(x + MHA)
            feedForward(rows: queryRows, y, into: sum, scratch: inner, kernels: kernels)
            kernels.add(count: n, y, into: sum)
            feedForwardNorm(rows: queryRows, sum, ldx: d, into: y, ldo: d, kernels: kernels)  // LN_f(X' + FF(X'))
        case .v3PreLN:
            kernels.add(count: n, sum, into: y)                                  // X' = x + MHA(LN_a x)
            feedForwardNorm(rows: queryRows, y, ldx: d, into: queryNormed, ldo: d, kernels: kernels)
            feedForward(rows: queryRows, queryNormed, into: sum, scratch: inner, kernels: kernels)
            kernels.add(count: n, sum, into: y)                                  // X' + FF(LN_f X')
        }
    }

    /// FF(y) = conv2(relu(conv1(y))).
    private func feedForward(rows: Int, _ y: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                             scratch inner: UnsafeMutablePointer<Float>, kernels: Kernels) {
        conv1(rows: rows, y, ldx: width, into: inner, ldo: width, kernels: kernels)
        kernels.relu(count: rows * width, inner)
        conv2(rows: rows, inner, ldx: width, into: out, ldo: width, kernels: kernels)
    }
}
