// The gate arithmetic after the two projections of a GRU step, shared by nn.GRU's layer (`GRULayer`) and
// the gated graph cell of SR-GNN and GC-SAN (`GatedGraphCell`), which differ only in which side z weights.
//   R rows, D width; gi, gh [R, 3D] with row blocks r | z | n; h [R, D] updated in place

enum GRUGates {
    /// What the update gate z weights in h ← (1 − z) ⊙ a + z ⊙ b.
    enum UpdateGate {
        /// nn.GRU: h ← (1 − z) ⊙ n + z ⊙ h.
        case keepsState
        /// SR-GNN's cell: h ← (1 − z) ⊙ h + z ⊙ n.
        case takesCandidate
    }

    /// r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), then h as `update` says, for every
    /// row. Overwrites gi.
    static func apply(rows: Int, width d: Int, gi: UnsafeMutablePointer<Float>, gh: UnsafeMutablePointer<Float>,
                      hidden h: UnsafeMutablePointer<Float>, update: UpdateGate, kernels: Kernels) {
        let gates = 3 * d
        for row in 0..<rows {
            let i = gi + row * gates, g = gh + row * gates, state = h + row * d
            kernels.add(count: 2 * d, g, into: i)
            kernels.sigmoid(count: 2 * d, i)
            for j in 0..<d { i[2 * d + j] += i[j] * g[2 * d + j] }
            kernels.tanh(count: d, i + 2 * d)
            switch update {
            case .keepsState:
                for j in 0..<d {
                    let z = i[d + j]
                    state[j] = (1 - z) * i[2 * d + j] + z * state[j]
                }
            case .takesCandidate:
                for j in 0..<d {
                    let z = i[d + j]
                    state[j] = (1 - z) * state[j] + z * i[2 * d + j]
                }
            }
        }
    }
}
