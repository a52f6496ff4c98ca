// Stand-in for SeqRecCore's SessionQuery until the engine is merged; removed at that merge.
public struct SessionQuery: Sendable {
    public var items: [Int32]
    public var k: Int
    public var excludeSeen: Bool = false
    public var allow: [Int32]? = nil
    public var deny: [Int32] = []
    public var candidates: [Int32]? = nil
    public var includeEmbedding: Bool = false
    public init(items: [Int32], k: Int = 10) {
        self.items = items
        self.k = k
    }
}
