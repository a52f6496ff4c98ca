// Scratch memory for one inference context: allocated once, reused by every batch.
//
// Models describe the regions they need with a `WorkspaceLayout` when they are bound; an
// `InferenceContext` allocates one `Workspace` of that size. Nothing here grows per request.

/// Offsets (in floats) of named scratch regions, each rounded up to a 64-byte boundary.
package struct WorkspaceLayout {
    package private(set) var floatCount = 0
    package private(set) var intCount = 0

    package init() {}

    /// Reserves `count` integers (indices, lengths) and returns the region's offset.
    package mutating func reserveInts(_ count: Int) -> Int {
        precondition(count >= 0, "workspace regions have non-negative size")
        let offset = intCount
        intCount += count
        return offset
    }

    /// Reserves `count` floats and returns the region's offset.
    package mutating func reserve(_ count: Int) -> Int {
        precondition(count >= 0, "workspace regions have non-negative size")
        let offset = floatCount
        floatCount += (count + 15) / 16 * 16
        return offset
    }
}

/// Owns 64-byte aligned float scratch memory for one thread.
package final class Workspace {
    private let base: UnsafeMutableRawPointer
    private let ints: UnsafeMutablePointer<Int>
    package let floatCount: Int
    package let intCount: Int

    package init(_ layout: WorkspaceLayout) {
        floatCount = layout.floatCount
        intCount = layout.intCount
        base = UnsafeMutableRawPointer.allocate(byteCount: max(floatCount, 16) * 4, alignment: 64)
        base.initializeMemory(as: Float.self, repeating: 0, count: max(floatCount, 16))
        ints = UnsafeMutablePointer<Int>.allocate(capacity: max(intCount, 1))
        ints.initialize(repeating: 0, count: max(intCount, 1))
    }

    deinit {
        base.deallocate()
        ints.deallocate()
    }

    /// Integer region at `offset` (from `WorkspaceLayout.reserveInts`); same lifetime rule as `region`.
    package func intRegion(_ offset: Int) -> UnsafeMutablePointer<Int> {
        precondition(offset >= 0 && offset <= intCount, "integer region \(offset) outside the workspace")
        // safe: offset lies inside the `intCount` integers allocated in init.
        return ints + offset
    }

    /// Pointer to the region at `offset` (from a `WorkspaceLayout`).
    /// Must not escape the batch that requested it: the workspace is reused by the next batch.
    package func region(_ offset: Int) -> UnsafeMutablePointer<Float> {
        precondition(offset >= 0 && offset <= floatCount, "region \(offset) outside the workspace")
        // safe: the memory was bound to Float in init and offset lies inside it.
        return base.assumingMemoryBound(to: Float.self) + offset
    }
}
