// One layer of RecBole's LightTransformerEncoder (LightSANs, MODELS-next.md §8.3 step 3): low-rank
// item-to-interest attention plus decoupled position attention, then RecBole's post-LN feed-forward.
// Both attention maps are normalised over the query (slot) axis and PAD slots take part, so every
// session runs exactly L slots.
//   B sessions × L slots = rows, d width, h heads of dh, k interests, I inner width
//   x [B·L, d] → x [B·L, d] (full pass) or → y [B, d] (each session's readout row, last layer)
import Foundation

struct LowRankTransformerLayer {
    let query, key, value, dense: Linear
    let keyInterests, valueInterests: UnsafePointer<Float>   // attpooling_*.theta [d, k], used as X·θ
    /// Β of each head, [h, L, L]: Β[i, j] weighs slot j's value for query slot i; each column sums to 1.
    let positionMaps: UnsafePointer<Float>
    let attentionNorm: LayerNormLayer
    let dense1, dense2: Linear
    let feedForwardNorm: LayerNormLayer
    let activation: Activation
    let heads, interests, slots: Int

    var hidden: Int { query.outputWidth }
    var inner: Int { dense1.outputWidth }
    var headWidth: Int { hidden / heads }

    struct Scratch {
        let q, k, v, context, sum, inner, pooledKeys, pooledValues, map: UnsafeMutablePointer<Float>
    }

    static func reserve(_ layout: inout WorkspaceLayout, rows: Int, slots: Int, hidden: Int, inner: Int,
                        interests: Int) -> [Int] {
        [rows * hidden, rows * hidden, rows * hidden, rows * hidden, rows * hidden, rows * inner,
         interests * hidden, interests * hidden, interests * slots].map { layout.reserve($0) }
    }

    static func scratch(_ workspace: Workspace, _ offsets: [Int]) -> Scratch {
        func r(_ index: Int) -> UnsafeMutablePointer<Float> { workspace.region(offsets[index]) }
        return Scratch(q: r(0), k: r(1), v: r(2), context: r(3), sum: r(4), inner: r(5), pooledKeys: r(6),
                       pooledValues: r(7), map: r(8))
    }

    /// Every slot of `sessions` sessions of L slots; x is updated in place.
    func forward(_ x: UnsafeMutablePointer<Float>, sessions: Int, scratch s: Scratch, kernels: Kernels) {
        attend(x, sessions: sessions, scratch: s, kernels: kernels)
        outputAndFeedForward(rows: sessions * slots, x, context: s.context, scratch: s, kernels: kernels)
    }

    /// Only session b's slot `readoutSlot(b)` leaves the layer, into y [sessions, d].
    func forwardReadout(_ x: UnsafePointer<Float>, sessions: Int, readoutSlot: (Int) -> Int,
                        into y: UnsafeMutablePointer<Float>, scratch s: Scratch, kernels: Kernels) {
        let d = hidden
        attend(x, sessions: sessions, scratch: s, kernels: kernels)
        for b in 0..<sessions {
            let row = b * slots + readoutSlot(b)
            (y + b * d).update(from: x + row * d, count: d)
            // Row b of the context is below every later session's rows (b'·L ≥ b' > b): nothing still needed is overwritten.
            (s.context + b * d).update(from: s.context + row * d, count: d)
        }
        outputAndFeedForward(rows: sessions, y, context: s.context, scratch: s, kernels: kernels)
    }

    /// context = concat over heads of (Π_a·Ṽ_a + Β_a·V_a) for every slot.
    private func attend(_ x: UnsafePointer<Float>, sessions: Int, scratch s: Scratch, kernels: Kernels) {
        let d = hidden, dh = headWidth, k = interests, l = slots, rows = sessions * slots
        query(rows: rows, x, ldx: d, into: s.q, ldo: d, kernels: kernels)
        key(rows: rows, x, ldx: d, into: s.k, ldo: d, kernels: kernels)
        value(rows: rows, x, ldx: d, into: s.v, ldo: d, kernels: kernels)
        let root = Float(dh).squareRoot()
        for b in 0..<sessions {
            let q = s.q + b * l * d, keys = s.k + b * l * d, values = s.v + b * l * d
            let context = s.context + b * l * d
            pool(keys, theta: keyInterests, into: s.pooledKeys, map: s.map, kernels: kernels)
            pool(values, theta: valueInterests, into: s.pooledValues, map: s.map, kernels: kernels)
            for head in 0..<heads {
                let column = head * dh
                // Sᵀ [k, L] = K̃_a·Q_aᵀ / √dh, softmaxed over the L query slots (rows of Sᵀ).
                kernels.gemm(transA: false, transB: true, m: k, n: l, k: dh, alpha: 1, a: s.pooledKeys + column,
                             lda: d, b: q + column, ldb: d, beta: 0, c: s.map, ldc: l)
                for i in 0..<(k * l) { s.map[i] /= root }  // RecBole divides rather than multiplying by 1/√dh.
                kernels.softmaxRows(rows: k, cols: l, x: s.map, ldx: l)
                kernels.gemm(transA: true, transB: false, m: l, n: dh, k: k, alpha: 1, a: s.map, lda: l,
                             b: s.pooledValues + column, ldb: d, beta: 0, c: context + column, ldc: d)
                kernels.gemm(transA: false, transB: false, m: l, n: dh, k: l, alpha: 1,
                             a: positionMaps + head * l * l, lda: l, b: values + column, ldb: d, beta: 1,
                             c: context + column, ldc: d)
            }
        }
    }

    /// Item-to-interest pooling: D = softmax over slots of X·θ [L, k]; out = Dᵀ·X [k, d].
    private func pool(_ x: UnsafePointer<Float>, theta: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                      map: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = hidden, k = interests, l = slots
        kernels.gemm(transA: true, transB: true, m: k, n: l, k: d, alpha: 1, a: theta, lda: k, b: x, ldb: d,
                     beta: 0, c: map, ldc: l)
        kernels.softmaxRows(rows: k, cols: l, x: map, ldx: l)
        kernels.gemm(transA: false, transB: false, m: k, n: d, k: l, alpha: 1, a: map, lda: l, b: x, ldb: d,
                     beta: 0, c: out, ldc: d)
    }

    /// x ← LN(dense(context) + x); x ← LN(dense2(act(dense1(x))) + x), row by row.
    private func outputAndFeedForward(rows: Int, _ x: UnsafeMutablePointer<Float>, context: UnsafePointer<Float>,
                                      scratch s: Scratch, kernels: Kernels) {
        let d = hidden
        dense(rows: rows, context, ldx: d, into: s.sum, ldo: d, kernels: kernels)
        kernels.add(count: rows * d, x, into: s.sum)
        attentionNorm(rows: rows, s.sum, ldx: d, into: x, ldo: d, kernels: kernels)
        dense1(rows: rows, x, ldx: d, into: s.inner, ldo: inner, kernels: kernels)
        activation.apply(count: rows * inner, s.inner, kernels: kernels)
        dense2(rows: rows, s.inner, ldx: inner, into: s.sum, ldo: d, kernels: kernels)
        kernels.add(count: rows * d, x, into: s.sum)
        feedForwardNorm(rows: rows, s.sum, ldx: d, into: x, ldo: d, kernels: kernels)
    }
}

extension WeightBinder {
    /// Layer `index` of `trm_encoder`; its position maps Β are computed here from `positions` [L, d]
    /// (they depend on weights only, §8.4) and kept in `derived`.
    func lowRankTransformerLayer(index: Int, width d: Int, heads: Int, interests: Int, slots: Int, eps: Float,
                                 activation: Activation, positions: UnsafePointer<Float>,
                                 derived: DerivedWeights) throws -> LowRankTransformerLayer {
        let prefix = LowRankTransformerLayer.prefix(index), attention = prefix + "multi_head_attention."
        let positionNorm = try layerNorm(attention + "pos_ln", eps: eps)
        let positionQuery = (try tensor(attention + "pos_q_linear.weight"), try tensor(attention + "pos_q_linear.bias"))
        let positionKey = (try tensor(attention + "pos_k_linear.weight"), try tensor(attention + "pos_k_linear.bias"))
        let maps = derived.make(count: heads * slots * slots) { out in
            PositionAttention(slots: slots, width: d, heads: heads).maps(
                positions: positions, norm: positionNorm, query: positionQuery, key: positionKey,
                into: out.baseAddress!)
        }
        return LowRankTransformerLayer(
            query: try linear(attention + "query"), key: try linear(attention + "key"),
            value: try linear(attention + "value"), dense: try linear(attention + "dense"),
            keyInterests: try tensor(attention + "attpooling_key.theta"),
            valueInterests: try tensor(attention + "attpooling_value.theta"),
            positionMaps: maps,
            attentionNorm: try layerNorm(attention + "LayerNorm", eps: eps),
            dense1: try linear(prefix + "feed_forward.dense_1"), dense2: try linear(prefix + "feed_forward.dense_2"),
            feedForwardNorm: try layerNorm(prefix + "feed_forward.LayerNorm", eps: eps),
            activation: activation, heads: heads, interests: interests, slots: slots)
    }
}

extension LowRankTransformerLayer {
    static func prefix(_ index: Int) -> String { "trm_encoder.layer.\(index)." }

    /// Layer `index`'s tensors: width d, FFN width `inner`, k `interests`.
    static func addTensors(index: Int, width d: Int, inner: Int, interests: Int, to table: inout TensorTable) {
        let prefix = prefix(index), attention = prefix + "multi_head_attention."
        for part in ["query", "key", "value", "dense"] {
            table.add(attention + part + ".weight", d, d)
            table.add(attention + part + ".bias", d)
        }
        table.add(attention + "attpooling_key.theta", d, interests)
        table.add(attention + "attpooling_value.theta", d, interests)
        for part in ["pos_q_linear", "pos_k_linear"] {
            table.add(attention + part + ".weight", d, d)
            table.add(attention + part + ".bias", d)
        }
        for part in ["pos_ln", "LayerNorm"] {
            table.add(attention + part + ".weight", d)
            table.add(attention + part + ".bias", d)
        }
        table.add(prefix + "feed_forward.dense_1.weight", inner, d)
        table.add(prefix + "feed_forward.dense_1.bias", inner)
        table.add(prefix + "feed_forward.dense_2.weight", d, inner)
        table.add(prefix + "feed_forward.dense_2.bias", d)
        table.add(prefix + "feed_forward.LayerNorm.weight", d)
        table.add(prefix + "feed_forward.LayerNorm.bias", d)
    }
}

/// LightSANs' decoupled position attention, computed once at load in double precision:
/// Pn = LN(P), Pq = pos_q(Pn)·(2·dh)^−½, Pk = pos_k(Pn), Β_a = softmax over the query index of
/// Pq_a·Pk_aᵀ/√dh.
private struct PositionAttention {
    let slots: Int
    let width: Int
    let heads: Int

    func maps(positions: UnsafePointer<Float>, norm: LayerNormLayer,
              query: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>),
              key: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>), into out: UnsafeMutablePointer<Float>) {
        let l = slots, d = width, dh = width / heads
        var normed = [Double](repeating: 0, count: l * d)
        for i in 0..<l {
            let row = positions + i * d
            var mean: Double = 0
            for c in 0..<d { mean += Double(row[c]) }
            mean /= Double(d)
            var variance: Double = 0
            for c in 0..<d { variance += (Double(row[c]) - mean) * (Double(row[c]) - mean) }
            variance /= Double(d)
            let scale = 1 / (variance + Double(norm.eps)).squareRoot()
            for c in 0..<d {
                normed[i * d + c] = (Double(row[c]) - mean) * scale * Double(norm.gamma[c]) + Double(norm.beta[c])
            }
        }
        func project(_ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>) -> [Double] {
            var result = [Double](repeating: 0, count: l * d)
            for i in 0..<l {
                for o in 0..<d {
                    var sum = Double(bias[o])
                    for c in 0..<d { sum += normed[i * d + c] * Double(weight[o * d + c]) }
                    result[i * d + o] = sum
                }
            }
            return result
        }
        let scaling = 1 / Double(2 * dh).squareRoot(), root = Double(dh).squareRoot()
        let pq = project(query.weight, query.bias).map { $0 * scaling }, pk = project(key.weight, key.bias)
        var logits = [Double](repeating: 0, count: l)
        for head in 0..<heads {
            let map = out + head * l * l, column = head * dh
            for j in 0..<l {
                for i in 0..<l {
                    var sum: Double = 0
                    for c in 0..<dh { sum += pq[i * d + column + c] * pk[j * d + column + c] }
                    logits[i] = sum / root
                }
                // Column j over the query slots i.
                let top = logits.max() ?? 0
                var total: Double = 0
                for i in 0..<l {
                    logits[i] = Foundation.exp(logits[i] - top)
                    total += logits[i]
                }
                for i in 0..<l { map[i * l + j] = Float(logits[i] / total) }
            }
        }
    }
}
