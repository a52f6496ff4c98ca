// Scalar activation formulas shared by every backend, so all paths agree on the exact definitions.
import Foundation

enum ScalarMath {
    /// Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    @inline(__always)
    static func gelu(_ x: Float) -> Float {
        0.5 * x * (1 + erff(x * 0.70710678118654752440))
    }

    /// Logistic sigmoid 1/(1 + e^−x).
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        1 / (1 + expf(-x))
    }
}
