// Random edits of a byte string for the fuzz tests of hand-written parsers.

/// Makes `edits` random edits to `bytes`, each deleting a byte, inserting one from `alphabet` or overwriting
/// one with it, at a random position.
public func mutateBytes(_ bytes: inout [UInt8], edits: Int, alphabet: [UInt8], using random: inout SplitMix64) {
    for _ in 0..<edits {
        let position = Int.random(in: 0...bytes.count, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0 where position < bytes.count: bytes.remove(at: position)
        case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: position)
        default: if position < bytes.count { bytes[position] = alphabet.randomElement(using: &random)! }
        }
    }
}
