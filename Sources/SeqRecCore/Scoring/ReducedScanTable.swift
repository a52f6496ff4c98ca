// The reduced-precision copy of the scoring table an `ExactScan` reads (FORMAT.md §12): int8 or bf16.
// Both give the exact scan the same per-row numbers (m_i ≥ ‖t_i‖ + ρ_i and ρ_i, docs/KERNELS.md) and
// differ in two places only, both here: how the query is prepared (its error δ, the norm N the kernel's
// rounding multiplies, and the number of roundings n in γ_n) and how a slab's approximate scores
// p_i (a_i = p_i + bias_i) are computed.

enum ReducedScanTable {
    case int8(Int8ScanTable)
    case bf16(Bf16ScanTable)

    var isInt8: Bool {
        if case .int8 = self { return true }
        return false
    }
    var norms: UnsafeMutablePointer<Float> {
        switch self { case .int8(let table): table.norms; case .bf16(let table): table.norms }
    }
    var residuals: UnsafeMutablePointer<Float> {
        switch self { case .int8(let table): table.residuals; case .bf16(let table): table.residuals }
    }
    var maxNorm: Float {
        switch self { case .int8(let table): table.maxNorm; case .bf16(let table): table.maxNorm }
    }
    var maxAbsBias: Float {
        switch self { case .int8(let table): table.maxAbsBias; case .bf16(let table): table.maxAbsBias }
    }
}

/// The dot-product path of each table kind for one scan call (CatalogScorer picks them).
struct ReducedDotPaths: Equatable {
    var int8: Int8Dot
    var bf16: Bf16Dot
}

/// What a prepared query contributes to the bound (KERNELS.md): δ ≥ ‖u − ũ‖₂ for the query ũ the kernel
/// multiplies, N ≥ the norm of |ũ| that multiplies the rounding error, n the roundings (γ_n), and the int8
/// query's scale.
struct PreparedQuery {
    var scale: Float = 0
    var delta: Double
    var norm: Double
    var roundings: Int
}

/// Per-session query staging of the bf16 split paths: hi and lo [maxBatch, w].
struct Bf16QueryParts {
    let hi: UnsafeMutablePointer<UInt16>
    let lo: UnsafeMutablePointer<UInt16>

    init(capacity: Int) {
        hi = .allocate(capacity: capacity)
        lo = .allocate(capacity: capacity)
    }

    func deallocate() { hi.deallocate(); lo.deallocate() }
}
