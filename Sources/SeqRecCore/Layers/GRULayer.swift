// One PyTorch GRU layer / GRUCell step for a block of sessions (MODELS.md §2.7).
//   R sessions stepping together, I input width, D hidden width
//   x [R, I] (ldx), h [R, D] updated in place; gate row blocks are r | z | n
//   scratch: gi [R, 3D], gh [R, 3D]
import SeqRecPosix

struct GRULayer {
    let input: Linear     // W_ih [3D, I], b_ih [3D] or none
    let hidden: Linear    // W_hh [3D, D], b_hh [3D] or none
    /// W_hh again, in the fused native step's panels (used when `Kernels.fusedGRUStep` runs).
    let recurrent: GRURecurrentWeights

    var hiddenWidth: Int { hidden.inputWidth }

    /// h ← GRU(x, h): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h = (1 − z) ⊙ n + z ⊙ h.
    func step(rows: Int, _ x: UnsafePointer<Float>, ldx: Int, hidden h: UnsafeMutablePointer<Float>,
              gi: UnsafeMutablePointer<Float>, gh: UnsafeMutablePointer<Float>, kernels: Kernels) {
        input(rows: rows, x, ldx: ldx, into: gi, ldo: 3 * hiddenWidth, kernels: kernels)
        step(rows: rows, projected: gi, hidden: h, gh: gh, kernels: kernels)
    }

    /// The same step with the input projection gi = x·W_ihᵀ + b_ih already computed (it does not depend
    /// on h, so `GRUStack` computes it for many steps in one product). Overwrites gi. `oddStep`: see `fusedStep`.
    func step(rows: Int, projected gi: UnsafeMutablePointer<Float>, hidden h: UnsafeMutablePointer<Float>,
              gh: UnsafeMutablePointer<Float>, kernels: Kernels, oddStep: Bool = false) {
        let d = hiddenWidth, gates = 3 * hiddenWidth
        if kernels.hasFusedGRUStep {
            fusedStep(rows: rows, inputs: .block(gi, ldgi: gates), hidden: h, scratch: gh, kernels: kernels,
                      oddStep: oddStep)
            return
        }
        hidden(rows: rows, h, ldx: d, into: gh, ldo: gates, kernels: kernels)
        GRUGates.apply(rows: rows, width: d, gi: gi, gh: gh, hidden: h, update: .keepsState, kernels: kernels)
    }

    /// The step through the fused native kernel (only when `kernels.hasFusedGRUStep`), with row i's
    /// projected inputs per `inputs` (a block's rows, or rows of `GRUInputProjections`). A recurrence passes
    /// `oddStep` = t is odd: odd steps walk W_hh's panels backwards, so each step starts on the panels the
    /// step before left in L1 (W_hh, 192 KB at D = 128, streams from L2 every step; same result).
    func fusedStep(rows: Int, inputs: GRUStepInputs, hidden h: UnsafeMutablePointer<Float>,
                   scratch: UnsafeMutablePointer<Float>, kernels: Kernels, oddStep: Bool = false) {
        kernels.fusedGRUStep(rows: rows, weights: recurrent, hiddenBias: hidden.bias, inputs: inputs, hidden: h,
                             scratch: scratch, panelsDescending: oddStep)
    }
}

/// A first layer's input projections of every item of its input table, x·W_ihᵀ + b_ih, computed once at
/// load, so that a fused step reads its inputs straight from here: no embedding copy and no projection
/// product per request (a third of GRU4Rec's multiply-adds at 64 → 3·128). Only for tables up to
/// `maximumBytes`; larger catalogues project per request.
final class GRUInputProjections: @unchecked Sendable {
    /// Rows of the table (items).
    let rows: Int
    /// Floats per row (3D).
    let width: Int
    let values: UnsafePointer<Float>
    /// 64 MiB: ~44k items at D = 128.
    static var maximumBytes: Int { 64 << 20 }

    /// nil when the projections would exceed `maximumBytes`.
    init?(layer: GRULayer, table: UnsafePointer<Float>, rows: Int) {
        let width = 3 * layer.hiddenWidth
        let (floats, overflow) = rows.multipliedReportingOverflow(by: width)
        guard rows > 0, !overflow, floats <= Self.maximumBytes / MemoryLayout<Float>.size else { return nil }
        let block = allocateCacheAligned(floats: floats)
        // Row by row the same product a request's chunk would compute (the native GEMM's sums do not depend
        // on the row count), so scores equal the per-request projection's.
        layer.input(rows: rows, table, ldx: layer.input.inputWidth, into: block, ldo: width, kernels: Kernels(.automatic))
        self.rows = rows
        self.width = width
        values = UnsafePointer(block)
    }

    deinit {
        UnsafeMutableRawPointer(mutating: values).deallocate()
    }
}

/// The GRU-embedding cell of gru4rec-official's one-hot mode (MODELS.md §7.4 step 2): its input is the
/// already projected row `Wx0[item] + Bh0` = [a_c | a_r | a_z], products have no transpose, the reset
/// applies to the state before the product, and z weights the new candidate.
struct GRUEmbeddingCell {
    let recurrentWeights: UnsafePointer<Float>   // Wrz0 [D, 2D]
    let candidateWeights: UnsafePointer<Float>   // Wh0 [D, D]
    let hiddenWidth: Int

    func step(rows: Int, _ a: UnsafePointer<Float>, hidden h: UnsafeMutablePointer<Float>,
              gi: UnsafeMutablePointer<Float>, gh: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let d = hiddenWidth, gates = 3 * hiddenWidth
        kernels.gemm(transA: false, transB: false, m: rows, n: 2 * d, k: d, alpha: 1, a: h, lda: d,
                     b: recurrentWeights, ldb: 2 * d, beta: 0, c: gh, ldc: gates)
        for row in 0..<rows {
            let gate = gi + row * gates, g = gh + row * gates, input = a + row * gates, state = h + row * d
            for j in 0..<(2 * d) { gate[j] = input[d + j] + g[j] }
            kernels.sigmoid(count: 2 * d, gate)
            for j in 0..<d { gate[2 * d + j] = gate[j] * state[j] }
        }
        kernels.gemm(transA: false, transB: false, m: rows, n: d, k: d, alpha: 1, a: gi + 2 * d, lda: gates,
                     b: candidateWeights, ldb: d, beta: 0, c: gh + 2 * d, ldc: gates)
        for row in 0..<rows {
            let gate = gi + row * gates, candidate = gh + row * gates + 2 * d, input = a + row * gates
            let state = h + row * d
            kernels.add(count: d, input, into: candidate)
            kernels.tanh(count: d, candidate)
            for j in 0..<d {
                let z = gate[d + j]
                state[j] = (1 - z) * state[j] + z * candidate[j]
            }
        }
    }
}

/// A layer of a GRU stack.
enum RecurrentCell {
    case standard(GRULayer)
    case embedding(GRUEmbeddingCell)

    var hiddenWidth: Int {
        switch self {
        case .standard(let layer): layer.hiddenWidth
        case .embedding(let cell): cell.hiddenWidth
        }
    }

    func step(rows: Int, _ x: UnsafePointer<Float>, ldx: Int, hidden: UnsafeMutablePointer<Float>,
              gi: UnsafeMutablePointer<Float>, gh: UnsafeMutablePointer<Float>, kernels: Kernels) {
        switch self {
        case .standard(let layer): layer.step(rows: rows, x, ldx: ldx, hidden: hidden, gi: gi, gh: gh, kernels: kernels)
        case .embedding(let cell): cell.step(rows: rows, x, hidden: hidden, gi: gi, gh: gh, kernels: kernels)
        }
    }
}

/// Runs a stack of GRU layers over a batch of sessions of different lengths, all starting from a zero
/// state. Sessions are right-aligned (sorted longest first) so the ones still stepping at any time form
/// a prefix of the block and every step is one GEMM. Time runs in chunks of steps: a chunk's inputs
/// are embedded together and, for a standard first layer, projected by W_ih in one product
/// (steps × sessions rows) instead of one small product per step. With an input table whose projections
/// were computed at load (`GRUInputProjections`) and the fused step, the first layer reads them instead.
struct GRUStack {
    let layers: [RecurrentCell]
    let inputWidth: Int
    let outputWidth: Int
    /// The first layer's projections of every row of the input table, when given one that fits.
    let inputProjections: GRUInputProjections?
    private let totalHidden: Int
    private let widest: Int
    /// Rows (steps × sessions) a chunk may hold: 16 steps at the default batch of 64, fewer for larger
    /// batches, so the chunk buffers stay near 1.5 MB per context whatever the batch limit.
    static let chunkRows = 1_024

    /// `inputTable`: the table `embed` copies rows from ([rows × inputWidth]), if any; its first-layer
    /// projections are then computed once here (for a standard first layer and a table that fits).
    init(layers: [RecurrentCell], inputWidth: Int, inputTable: (values: UnsafePointer<Float>, rows: Int)? = nil) {
        precondition(!layers.isEmpty, "a GRU stack has at least one layer")
        self.layers = layers
        self.inputWidth = inputWidth
        if case .standard(let first) = layers[0], let inputTable {
            inputProjections = GRUInputProjections(layer: first, table: inputTable.values, rows: inputTable.rows)
        } else {
            inputProjections = nil
        }
        outputWidth = layers[layers.count - 1].hiddenWidth
        totalHidden = layers.map(\.hiddenWidth).reduce(0, +)
        widest = layers.map(\.hiddenWidth).max() ?? 0
    }

    struct Regions {
        let inputs, projected, hidden, gi, gh, order, rowPointers: Int
        /// Steps per chunk: 1…16, as many as fit `chunkRows` at the bound batch limit.
        let chunkSteps: Int
        /// The model's state cache, per session [skipped items, window key (2), prefix key (2)] and the
        /// states read from the cache [maxBatch, Σ D_l]; nil = no cache.
        let cache: GRUStateCache?
        let resumes: Int
        let resumedStates: Int
    }

    /// With `cache` enabled, the model's state cache (shared by every context) is made here and a window
    /// whose all-but-last items were stored runs one step.
    func reserve(_ layout: inout WorkspaceLayout, maxBatch: Int, cache settings: StateCacheSettings) throws(ModelLoadError) -> Regions {
        let cached = settings.isEnabled
        let chunkSteps = Swift.max(1, Swift.min(16, Self.chunkRows / maxBatch))
        let chunkRows = chunkSteps * maxBatch
        var projectedWidth = 0
        if case .standard(let first) = layers[0] { projectedWidth = 3 * first.hiddenWidth }
        return Regions(inputs: layout.reserve(chunkRows * inputWidth),
                       projected: layout.reserve(chunkRows * projectedWidth),
                       hidden: layout.reserve(maxBatch * totalHidden),
                       gi: layout.reserve(maxBatch * 3 * widest), gh: layout.reserve(maxBatch * 3 * widest),
                       order: layout.reserveInts(2 * maxBatch), rowPointers: layout.reserveInts(maxBatch),
                       chunkSteps: chunkSteps,
                       cache: cached ? try GRUStateCache(&layout, settings: settings, width: totalHidden) : nil,
                       resumes: layout.reserveInts(cached ? 5 * maxBatch : 0),
                       resumedStates: layout.reserve(cached ? maxBatch * totalHidden : 0))
    }

    /// Feeds session b's `lengths[b]` items (item t from `item(b, t)`, embedded by `embed`) and writes each
    /// session's top-layer state to `out[b]` [B, outputWidth]. With a state cache, a session whose window
    /// minus its last item was stored starts from that state and runs only the last item, and a window
    /// stored whole runs no step at all.
    func run(sessions count: Int, lengths: (Int) -> Int, item: (Int, Int) -> Int,
             embed: (Int, UnsafeMutablePointer<Float>) -> Void, workspace: Workspace, regions: Regions,
             into out: UnsafeMutablePointer<Float>, kernels: Kernels) {
        let order = workspace.intRegion(regions.order)
        let length = order + count
        let skipped = workspace.intRegion(regions.resumes), keys = skipped + count  // keys: [window, prefix] per session
        let resumed = workspace.region(regions.resumedStates), now = regions.cache == nil ? 0 : MonotonicClock.now()
        for b in 0..<count {
            var slot = b
            var n = lengths(b)
            if let cache = regions.cache {
                let key = lookUp(b, items: n, item: item, cache: cache, now: now, into: resumed + b * totalHidden,
                                 workspace: workspace)
                skipped[b] = key.skipped
                key.window.save(to: keys + 4 * b)
                key.prefix.save(to: keys + 4 * b + 2)
                n -= key.skipped
            }
            // Insertion sort, longest first: batches are small.
            while slot > 0 && length[slot - 1] < n {
                order[slot] = order[slot - 1]
                length[slot] = length[slot - 1]
                slot -= 1
            }
            order[slot] = b
            length[slot] = n
        }
        let steps = count > 0 ? length[0] : 0
        let inputs = workspace.region(regions.inputs), projected = workspace.region(regions.projected)
        let hidden = workspace.region(regions.hidden)
        hidden.update(repeating: 0, count: count * totalHidden)
        func first(_ row: Int) -> Int { regions.cache == nil ? 0 : skipped[order[row]] }
        if regions.cache != nil {
            // Resumed from the window minus its last item (one step left) or the window itself (none).
            for row in 0..<count where skipped[order[row]] > 0 {
                copyStates(from: resumed + order[row] * totalHidden, toRow: row, of: hidden, count: count)
            }
        }
        let firstGates = 3 * layers[0].hiddenWidth
        // safe: the region holds maxBatch Ints, the same size and alignment as maxBatch pointers, and is
        // only ever used as pointers.
        let pointers = UnsafeMutableRawPointer(workspace.intRegion(regions.rowPointers))
            .bindMemory(to: UnsafePointer<Float>?.self, capacity: Swift.max(1, count))
        let gi = workspace.region(regions.gi), gh = workspace.region(regions.gh)
        // Sessions are sorted longest first and right-aligned, so those stepping at t are a prefix.
        func stepping(atLeast rows: Int, at t: Int) -> Int {
            var rows = rows
            while rows < count && length[rows] >= steps - t { rows += 1 }
            return rows
        }
        func itemAt(row: Int, step t: Int) -> Int { item(order[row], first(row) + t - (steps - length[row])) }
        /// Layers above the first, for the `active` rows of one step.
        func stepUpperLayers(active: Int) {
            var state = hidden
            for index in 1..<layers.count {
                let below = UnsafePointer(state), belowWidth = layers[index - 1].hiddenWidth
                state += count * belowWidth
                layers[index].step(rows: active, below, ldx: belowWidth, hidden: state, gi: gi, gh: gh, kernels: kernels)
            }
        }
        var active = 0
        var chunkStart = 0
        if case .standard(let firstLayer) = layers[0], let table = inputProjections, kernels.hasFusedGRUStep {
            // Every step's first-layer inputs are rows of the projections table: nothing to embed or project.
            for t in 0..<steps {
                active = stepping(atLeast: active, at: t)
                for row in 0..<active {
                    let index = itemAt(row: row, step: t)
                    precondition(index >= 0 && index < table.rows, "GRU input \(index) outside the table of \(table.rows)")
                    pointers[row] = table.values + index * table.width
                }
                firstLayer.fusedStep(rows: active, inputs: .rows(pointers), hidden: hidden, scratch: gh, kernels: kernels,
                                     oddStep: t % 2 == 1)
                stepUpperLayers(active: active)
            }
            chunkStart = steps
        }
        while chunkStart < steps {
            let chunkEnd = Swift.min(steps, chunkStart + regions.chunkSteps)
            // Embed the chunk: step t's rows at (t − chunkStart)·count; rows of sessions that have not
            // started are zeroed (their projections are computed but never read).
            var startedRows = active
            for t in chunkStart..<chunkEnd {
                startedRows = stepping(atLeast: startedRows, at: t)
                let block = inputs + (t - chunkStart) * count * inputWidth
                for row in 0..<startedRows {
                    embed(itemAt(row: row, step: t), block + row * inputWidth)
                }
                (block + startedRows * inputWidth).update(repeating: 0, count: (count - startedRows) * inputWidth)
            }
            if case .standard(let first) = layers[0] {
                first.input(rows: (chunkEnd - chunkStart) * count, inputs, ldx: inputWidth, into: projected,
                            ldo: firstGates, kernels: kernels)
            }
            for t in chunkStart..<chunkEnd {
                active = stepping(atLeast: active, at: t)
                let x = UnsafePointer(inputs + (t - chunkStart) * count * inputWidth)
                switch layers[0] {
                case .standard(let first):
                    first.step(rows: active, projected: projected + (t - chunkStart) * count * firstGates,
                               hidden: hidden, gh: gh, kernels: kernels, oddStep: t % 2 == 1)
                case .embedding:
                    layers[0].step(rows: active, x, ldx: inputWidth, hidden: hidden, gi: gi, gh: gh, kernels: kernels)
                }
                stepUpperLayers(active: active)
            }
            chunkStart = chunkEnd
        }
        let top = state(hidden, count: count)
        for row in 0..<count {
            (out + order[row] * outputWidth).update(from: top + row * outputWidth, count: outputWidth)
        }
        if let cache = regions.cache {
            // A window found whole is stored already; one resumed from its prefix replaces that prefix.
            for row in 0..<count where length[row] > 0 {
                let b = order[row], state = resumed + b * totalHidden
                copyStates(ofRow: row, of: hidden, count: count, to: state)
                cache.save(WindowKey(loading: keys + 4 * b), states: state, now: now,
                           superseding: skipped[b] > 0 ? WindowKey(loading: keys + 4 * b + 2) : nil)
            }
        }
    }

    /// The key of session b's whole window, and how many of its leading items a stored state covers: all
    /// of them when this very window was stored (a repeated request), all but the last when the window
    /// minus its last item was (the session grew by one item), else none.
    /// The stored states are copied into `states`.
    private func lookUp(_ b: Int, items n: Int, item: (Int, Int) -> Int, cache: GRUStateCache, now: UInt64,
                        into states: UnsafeMutablePointer<Float>, workspace: Workspace)
        -> (window: WindowKey, prefix: WindowKey, skipped: Int) {
        var key = WindowKey()
        for t in 0..<(n - 1) { key.append(item(b, t)) }
        let prefix = key
        key.append(item(b, n - 1))
        let skipped = cache.load(key, now: now, renew: true, into: states) ? n
            : n > 1 && cache.load(prefix, now: now, into: states) ? n - 1 : 0
        cache.counters.count(hit: skipped > 0, in: workspace)
        return (key, prefix, skipped)
    }

    /// Layer states live in layer blocks [count, D_l]; a cache entry holds one row of each, concatenated.
    private func copyStates(from entry: UnsafePointer<Float>, toRow row: Int, of hidden: UnsafeMutablePointer<Float>,
                            count: Int) {
        var block = hidden, offset = 0
        for layer in layers {
            let d = layer.hiddenWidth
            (block + row * d).update(from: entry + offset, count: d)
            block += count * d
            offset += d
        }
    }

    private func copyStates(ofRow row: Int, of hidden: UnsafePointer<Float>, count: Int, to entry: UnsafeMutablePointer<Float>) {
        var block = hidden, offset = 0
        for layer in layers {
            let d = layer.hiddenWidth
            (entry + offset).update(from: block + row * d, count: d)
            block += count * d
            offset += d
        }
    }

    private func state(_ hidden: UnsafeMutablePointer<Float>, count: Int) -> UnsafeMutablePointer<Float> {
        var top = hidden
        for layer in layers.dropLast() { top += count * layer.hiddenWidth }
        return top
    }
}
