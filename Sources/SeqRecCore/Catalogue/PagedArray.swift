// A fixed-length array kept as pages of 128 elements, for per-item tables the catalogue's writer
// changes in a few places between snapshots: a snapshot shares the pages (copy on write at both
// levels), so the next write after a publish copies the page table (8 bytes per page) and then only
// the pages it touches, not the whole table. A 10,000-item bulk update of a 1M-item per-item category
// table copies about 1 MB instead of 8 MB per publish (docs/OPERATIONS.md §12, costs).

struct PagedArray<Element: Sendable>: Sendable {
    static var pageShift: Int { 7 }
    static var pageSize: Int { 1 << pageShift }

    /// Every page holds `pageSize` elements; the last one's tail past `count` is never read.
    private var pages: [[Element]]
    let count: Int

    /// `count` copies of `value`; all pages share one buffer until written.
    init(repeating value: Element, count: Int) {
        precondition(count >= 0, "a table has a non-negative length")
        self.count = count
        let page = [Element](repeating: value, count: Self.pageSize)
        pages = [[Element]](repeating: page, count: (count + Self.pageSize - 1) >> Self.pageShift)
    }

    /// The element at `index` (0 ..< count; checked by the page arrays' own bounds checks only up to
    /// the padded length, so callers check `count` first where an index comes from outside).
    @inline(__always)
    subscript(index: Int) -> Element {
        get { pages[index >> Self.pageShift][index & (Self.pageSize - 1)] }
        set { pages[index >> Self.pageShift][index & (Self.pageSize - 1)] = newValue }
    }
}
