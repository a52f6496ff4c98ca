import Foundation
import Testing
@testable import SeqRecCore
import SeqRecTestSupport

/// The update path after a version is attached (issue 15 leftover 1: records mapped once per version,
/// per-item category codes as base + changes, merged expiry order): a long run of small random batches — new and
/// known items, by external and internal id, partial updates, categories moved, spilled past two and
/// emptied, expiries set, moved and cleared, items named twice in one batch — answers every filter
/// exactly as brute force over the merged attributes after every batch; a snapshot taken before a
/// batch still shows the state before it; the gauges count what the merged attributes say; and a
/// version attached at the end answers as the incrementally updated one.
@Suite("Catalogue: incremental updates", .serialized)
struct CatalogueUpdateTests {
    typealias Filters = CatalogueFilterTests

    /// Category names of `item` in `snapshot`, sorted.
    func categories(of item: Int, in snapshot: CatalogueSnapshot) -> [String] {
        var names: [String] = []
        let byNumber = Dictionary(uniqueKeysWithValues: snapshot.categoryNumbers.map { ($0.value, $0.key) })
        _ = snapshot.forEachCategory(of: Int32(item)) { names.append(byNumber[$0]!); return true }
        return names.sorted()
    }

    @Test func batchesAfterAttachMatchBruteForce() throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 8)
        let now: Int64 = 1_790_000_000_000
        recommender.catalogue.pinTime(now)
        var random = SplitMix64(seed: 1515)
        let catalogue = try ItemCatalogue(name: "m")
        catalogue.attach(recommender)
        let context = recommender.makeContext()
        let info = recommender.info
        let ids = info.firstItem ..< info.firstItem + info.itemCount
        var items: [String: ItemAttributes] = [:]
        for batch in 0..<30 {
            let before = items
            let snapshotBefore = try #require(recommender.catalogue.snapshot)
            var updates: [AttributeUpdate] = []
            for _ in 0..<Int.random(in: 1...200, using: &random) {
                let id = Int.random(in: ids, using: &random)
                let token = recommender.token(of: Int32(id))
                var update = AttributeUpdate(key: Bool.random(using: &random) ? .token(token) : .id(Int64(id)))
                if Int.random(in: 0..<3, using: &random) == 0 { update.available = Bool.random(using: &random) }
                if Int.random(in: 0..<3, using: &random) == 0 {
                    let count = Int.random(in: 0...4, using: &random)
                    update.categories = Array(Filters.categoryNames.shuffled(using: &random).prefix(count))
                }
                switch Int.random(in: 0..<8, using: &random) {
                case 0: update.expiresAt = .at(now - Int64.random(in: 0...100_000, using: &random))   // expired (or exactly now)
                case 1: update.expiresAt = .at(now + Int64.random(in: 1...100_000, using: &random))
                case 2: update.expiresAt = .never
                default: break
                }
                update.apply(to: &items[token, default: ItemAttributes()])
                updates.append(update)
            }
            #expect(try catalogue.apply(updates) == updates.count)
            for index in 0..<4 {
                let query = Filters.randomQuery(recommender, &random)
                let expected = try Filters.reference(recommender, query, items, now: now)
                #expect(try context.recommend(query).items == expected, "batch \(batch) query \(index): \(query.filters) k \(query.k)")
            }
            let snapshotAfter = try #require(recommender.catalogue.snapshot)
            for id in ids {
                let token = recommender.token(of: Int32(id))
                #expect(categories(of: id, in: snapshotBefore) == (before[token]?.categories ?? []).sorted(), "item \(id) before batch \(batch)")
                #expect(categories(of: id, in: snapshotAfter) == (items[token]?.categories ?? []).sorted(), "item \(id) after batch \(batch)")
            }
            let gauges = catalogue.gauges(now: now)
            #expect(gauges.items == items.count)
            #expect(gauges.unavailable == items.values.filter { !$0.available }.count)
            #expect(gauges.expired == items.values.filter { ($0.expiresAt ?? .max) <= now }.count)
        }
        let fresh = try Recommender(path: path, maxBatch: 8)
        fresh.catalogue.pinTime(now)
        catalogue.attach(fresh)
        for _ in 0..<8 {
            let query = Filters.randomQuery(recommender, &random)
            #expect(try fresh.makeContext().recommend(query).items == (try context.recommend(query).items))
        }
    }

    /// The per-item code table against a plain array (its naive twin): random writes, with copies taken
    /// along the way (as snapshots are) that must keep their values, across grows of the change table
    /// and folds into the base (a small `foldAt`), at the first and last index too.
    @Test(arguments: [1, 7, 64, 1024])
    func overlaidTableMatchesAPlainArray(foldAt: Int) {
        var random = SplitMix64(seed: UInt64(foldAt))
        let count = 5000
        var table = OverlaidTable(repeating: 7, count: count, foldAt: foldAt), twin = [UInt64](repeating: 7, count: count)
        var copies: [(OverlaidTable, [UInt64])] = []
        for step in 0..<20_000 {
            let index = step % 97 == 0 ? (step % 2 == 0 ? 0 : count - 1) : Int(random.next() % UInt64(step % 3 == 0 ? 40 : count))
            let value = random.next()
            table[index] = value
            twin[index] = value
            #expect(table.changeCount <= foldAt)
            if step % 1999 == 0 { copies.append((table, twin)) }
        }
        #expect((0..<count).allSatisfy { table[$0] == twin[$0] })
        for (copy, expected) in copies { #expect((0..<count).allSatisfy { copy[$0] == expected[$0] }) }
    }
}
