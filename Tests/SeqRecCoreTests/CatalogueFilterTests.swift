import Foundation
@testable import SeqRecCore
import SeqRecTestSupport
import Testing

/// `ItemFilters` in the scan, against brute force on random catalogues: every eligible item (allow,
/// deny, candidates, exclude-seen, availability, expiry, categories) sorted by (score desc, id asc),
/// then the per-category cap taken greedily. Also: updates visible to the very next request, expiry
/// against the clock, and the snapshot reclaimed only after its readers left.
@Suite("Catalogue: filters in scoring", .serialized)
struct CatalogueFilterTests {
    /// A private model instance: attaching attributes must not change other suites' answers.
    static let model = try! ScoringTests.Loaded("recbole-sasrec-ml100k")
    static let categoryNames = ["Action", "Comedy", "Drama", "7", "Horror", "Kids"]

    /// Random attributes for every recommendable item of `recommender` (by external id).
    static func randomAttributes(_ recommender: Recommender, now: Int64, _ random: inout SplitMix64) -> [String: ItemAttributes] {
        var items: [String: ItemAttributes] = [:]
        let info = recommender.info
        for id in info.firstItem ..< info.firstItem + info.itemCount where Int.random(in: 0..<10, using: &random) < 8 {
            var attributes = ItemAttributes()
            attributes.available = Int.random(in: 0..<10, using: &random) != 0
            let count = Int.random(in: 0...3, using: &random)
            attributes.categories = Array(categoryNames.shuffled(using: &random).prefix(count))
            switch Int.random(in: 0..<10, using: &random) {
            case 0: attributes.expiresAt = now - Int64.random(in: 1...100_000, using: &random)   // expired
            case 1: attributes.expiresAt = now + Int64.random(in: 1...100_000, using: &random)   // not yet
            case 2: attributes.expiresAt = now   // expires exactly now: unavailable
            default: break
            }
            items[recommender.token(of: Int32(id))] = attributes
        }
        return items
    }

    static func updates(_ items: [String: ItemAttributes]) -> [AttributeUpdate] {
        items.map { token, attributes in
            AttributeUpdate(key: .token(token), available: attributes.available, categories: attributes.categories,
                            expiresAt: attributes.expiresAt.map { .at($0) } ?? .never)
        }
    }

    /// Brute force over raw scores.
    static func reference(_ recommender: Recommender, _ query: SessionQuery, _ items: [String: ItemAttributes],
                          now: Int64) throws -> [Int32] {
        let scores = try recommender.makeContext().rawScores(session: query.items)
        let first = recommender.info.firstItem
        var pool = Set((query.candidates ?? query.allow).map { $0.map(Int.init) } ?? Array(first..<scores.count))
        if let allow = query.allow, query.candidates != nil { pool.formIntersection(allow.map(Int.init)) }
        pool.subtract(query.deny.map(Int.init))
        if query.excludeSeen { pool.subtract(query.items.map(Int.init)) }
        let filters = query.filters
        pool = pool.filter { id in
            guard id >= first else { return false }
            let attributes = items[recommender.token(of: Int32(id))] ?? ItemAttributes()
            if filters.availableOnly && !attributes.isAvailable(at: now) { return false }
            if !filters.categoriesInclude.isEmpty && !attributes.categories.contains(where: filters.categoriesInclude.contains) { return false }
            if attributes.categories.contains(where: filters.categoriesExclude.contains) { return false }
            return true
        }
        let ranked = pool.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        guard let cap = filters.maxPerCategory else { return ranked.prefix(query.k).map(Int32.init) }
        var counts: [String: Int] = [:], picked: [Int32] = []
        for id in ranked where picked.count < query.k {
            let categories = (items[recommender.token(of: Int32(id))] ?? ItemAttributes()).categories
            guard categories.allSatisfy({ counts[$0, default: 0] < cap }) else { continue }
            for category in categories { counts[category, default: 0] += 1 }
            picked.append(Int32(id))
        }
        return picked
    }

    static func randomQuery(_ recommender: Recommender, _ random: inout SplitMix64) -> SessionQuery {
        let info = recommender.info
        func items(_ count: Int, _ random: inout SplitMix64) -> [Int32] {
            (0..<count).map { _ in Int32(Int.random(in: info.firstItem ..< info.firstItem + info.itemCount, using: &random)) }
        }
        var query = SessionQuery(items: items(Int.random(in: 1...12, using: &random), &random),
                                 k: [1, 3, 10, 25, 100].randomElement(using: &random)!)
        query.excludeSeen = Bool.random(using: &random)
        query.deny = items(Int.random(in: 0...20, using: &random), &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0: query.candidates = items(max(query.k, 300), &random)
        case 1: query.allow = items(600, &random)
        default: break
        }
        if let list = query.candidates, Set(list).count < query.k { query.k = Set(list).count }
        var filters = ItemFilters()
        filters.availableOnly = Int.random(in: 0..<4, using: &random) != 0
        if Bool.random(using: &random) {
            filters.categoriesInclude = Array(categoryNames.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random)))
            if Int.random(in: 0..<5, using: &random) == 0 { filters.categoriesInclude.append("no such category") }
        }
        if Bool.random(using: &random) { filters.categoriesExclude = [categoryNames.randomElement(using: &random)!] }
        if Bool.random(using: &random) { filters.maxPerCategory = [1, 2, 5].randomElement(using: &random)! }
        query.filters = filters
        return query
    }

    @Test(arguments: [KernelSelection.automatic, .forced(.simd), .forced(.blas)])
    func randomCataloguesMatchBruteForce(kernels: KernelSelection) throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, kernels: kernels, maxBatch: 8)
        let now: Int64 = 1_790_000_000_000
        recommender.catalogue.pinTime(now)
        var random = SplitMix64(seed: 15)
        for round in 0..<4 {
            let items = Self.randomAttributes(recommender, now: now, &random)
            let catalogue = try ItemCatalogue(name: "m")
            try catalogue.apply(Self.updates(items))
            catalogue.attach(recommender)
            let context = recommender.makeContext()
            let queries = (0..<24).map { _ in Self.randomQuery(recommender, &random) }
            for query in queries { try recommender.validate(query) }
            var results: [Recommendation] = []
            try context.recommend(queries[...], into: &results)   // batches of 8: fused and batched scans
            for (index, query) in queries.enumerated() {
                let expected = try Self.reference(recommender, query, items, now: now)
                #expect(results[index].items == expected, "round \(round) query \(index): \(query.filters) k \(query.k)")
                #expect(try context.recommend(query).items == expected, "alone: round \(round) query \(index)")
            }
            // Rows are cleared after each batch: the same context answers a plain query as without attributes.
            var plain = SessionQuery(items: [358, 53], k: 50)
            plain.filters.availableOnly = false
            #expect(try context.recommend(plain).items == ScoringTests().bruteForce(recommender, plain))
        }
    }

    /// Nearly every item in one of two categories, a cap of 2: the first pool runs out long before k
    /// picks, so later rounds (picks and full categories excluded) must find the uncategorized items.
    @Test(arguments: [1, 8]) func capNeedsSeveralRounds(batch: Int) throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 8)
        var items: [String: ItemAttributes] = [:]
        for id in recommender.info.firstItem ..< recommender.info.firstItem + recommender.info.itemCount where id % 50 != 0 {
            items[recommender.token(of: Int32(id))] = ItemAttributes(categories: [id % 3 == 0 ? "A" : "B"])
        }
        let catalogue = try ItemCatalogue(name: "m")
        try catalogue.apply(Self.updates(items))
        catalogue.attach(recommender)
        var queries: [SessionQuery] = []
        for b in 0..<batch {
            var query = SessionQuery(items: [358, 53, Int32(100 + b)], k: 20)
            query.filters.maxPerCategory = 2
            query.excludeSeen = b % 2 == 1
            if b == 3 { query.candidates = Array(1...900) }
            queries.append(query)
        }
        var results: [Recommendation] = []
        try recommender.makeContext().recommend(queries[...], into: &results)
        for (index, query) in queries.enumerated() {
            let expected = try Self.reference(recommender, query, items, now: 0)
            #expect(expected.count == 20)
            #expect(results[index].items == expected, "query \(index)")
            #expect(zip(results[index].scores, results[index].scores.dropFirst()).allSatisfy { $0 >= $1 })
        }
    }

    @Test func updatesAreVisibleToTheVeryNextRequest() throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recommender = try Recommender(path: path, maxBatch: 8)
        let catalogue = try ItemCatalogue(name: "m")
        catalogue.attach(recommender)
        let context = recommender.makeContext()
        let query = SessionQuery(items: [358, 53, 162], k: 5)
        let before = try context.recommend(query).items
        let top = before[0]
        try catalogue.apply([AttributeUpdate(key: .id(Int64(top)), available: false)])
        let after = try context.recommend(query).items
        var denied = query
        denied.deny = [top]
        denied.filters.availableOnly = false
        let expected = try context.recommend(denied).items
        #expect(!after.contains(top) && after == expected)
        var optOut = query
        optOut.filters.availableOnly = false
        #expect(try context.recommend(optOut).items == before, "available_only false sees unavailable items")
        try catalogue.apply([AttributeUpdate(key: .token(recommender.token(of: top)), available: true)])
        #expect(try context.recommend(query).items == before)
        // Expiry is judged by the clock at each request, not at the update.
        recommender.catalogue.pinTime(1_000_000)
        try catalogue.apply([AttributeUpdate(key: .id(Int64(top)), expiresAt: .at(1_000_500))])
        #expect(try context.recommend(query).items == before)
        recommender.catalogue.pinTime(1_000_500)
        #expect(!(try context.recommend(query).items.contains(top)), "expired at its expires_at")
        // Categories: include one the top item has, then move the item out of it.
        try catalogue.apply([AttributeUpdate(key: .id(Int64(top)), categories: ["Sale"], expiresAt: .never)])
        var sale = query
        sale.filters.categoriesInclude = ["Sale"]
        #expect(try context.recommend(sale).items == [top])
        try catalogue.apply([AttributeUpdate(key: .id(Int64(top)), categories: [])])
        #expect(try context.recommend(sale).items.isEmpty)
        // GET reads back what was applied.
        let item = try catalogue.item(.id(Int64(top)))
        #expect(item.id == top && item.attributes == ItemAttributes(available: true, categories: [], expiresAt: nil))
    }

    @Test func aNewVersionResolvesByExternalID() throws {
        let path = try GoldenFixture("recbole-sasrec-ml100k").convert()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Recommender(path: path, maxBatch: 8)
        let catalogue = try ItemCatalogue(name: "m")
        catalogue.attach(first)
        let token = first.token(of: 50)
        try catalogue.apply([AttributeUpdate(key: .token(token), available: false, categories: ["Action"])])
        let second = try Recommender(path: path, maxBatch: 8)
        catalogue.attach(second)
        let snapshot = try #require(second.catalogue.snapshot)
        let id = try #require(second.vocabulary?.id(ofToken: token))
        #expect(snapshot.unavailable[id >> 6] & (1 << UInt64(id & 63)) != 0)
        var categories: [Int32] = []
        _ = snapshot.forEachCategory(of: Int32(id)) { categories.append($0); return true }
        #expect(categories.count == 1)
    }

    /// Insert and remove against a Set, across the sorted ↔ bitset switches (rows/32 up, rows/64 down).
    @Test func categoryMembersFollowASet() {
        var random = SplitMix64(seed: 32)
        var members = CategoryMembers(rows: 640)
        var reference = Set<Int32>()
        for step in 0..<6_000 {
            let item = Int32(Int.random(in: 0..<640, using: &random))
            let growing = (step / 1_000) % 2 == 0
            if Int.random(in: 0..<4, using: &random) < (growing ? 3 : 1) {
                members.insert(item)
                reference.insert(item)
            } else {
                members.remove(item)
                reference.remove(item)
            }
            #expect(members.count == reference.count)
        }
        for item in Int32(0)..<640 { #expect(members.contains(item) == reference.contains(item)) }
        var bits = [UInt64](repeating: 0, count: 10)
        bits.withUnsafeMutableBufferPointer { members.write(into: $0.baseAddress!, words: 10) }
        var set: [Int32] = []
        for item in 0..<640 where bits[item >> 6] & (UInt64(1) << UInt64(item & 63)) != 0 { set.append(Int32(item)) }
        #expect(set == reference.sorted())
    }

    @Test func oldSnapshotsAreFreedOnlyAfterTheirReadersLeave() {
        let slot = CatalogueSlot()
        let reader = slot.register()
        weak var firstRef: CatalogueSnapshot?
        do {
            let first = CatalogueSnapshot(rows: 64, unavailable: [1], expiring: [], categoryNumbers: [:], members: [],
                                          itemCategories: OverlaidTable(repeating: 0, count: 64), overflow: [], itemsWithAttributes: 1)
            firstRef = first
            slot.publish(first)
        }
        slot.read(reader) { snapshot in
            #expect(snapshot === firstRef)
            let second = CatalogueSnapshot(rows: 64, unavailable: [2], expiring: [], categoryNumbers: [:], members: [],
                                           itemCategories: OverlaidTable(repeating: 0, count: 64), overflow: [], itemsWithAttributes: 1)
            slot.publish(second)   // from "another thread": the reader is still inside
            #expect(firstRef != nil, "a reader inside keeps the old snapshot alive")
            #expect(snapshot?.unavailable == [1])
        }
        #expect(slot.reclaim() == 0)
        #expect(firstRef == nil, "freed once the reader left")
        slot.read(reader) { #expect($0?.unavailable == [2]) }
        slot.unregister(reader)
    }

    @Test func concurrentReadersAndWriters() async throws {
        let slot = CatalogueSlot()
        let rows = 4096
        func make(_ value: UInt64) -> CatalogueSnapshot {
            CatalogueSnapshot(rows: rows, unavailable: [UInt64](repeating: value, count: rows / 64), expiring: [],
                              categoryNumbers: [:], members: [], itemCategories: OverlaidTable(repeating: 0, count: rows),
                              overflow: [], itemsWithAttributes: 0)
        }
        slot.publish(make(0))
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    let reader = slot.register()
                    defer { slot.unregister(reader) }
                    for _ in 0..<20_000 {
                        // Every word of one snapshot holds the same value: a torn or freed one would not.
                        let consistent = slot.read(reader) { snapshot in
                            guard let words = snapshot?.unavailable else { return false }
                            return words.allSatisfy { $0 == words[0] }
                        }
                        if !consistent { return false }
                    }
                    return true
                }
            }
            group.addTask {
                for value in 1...2_000 { slot.publish(make(UInt64(value))) }
                return true
            }
            for await ok in group { #expect(ok) }
        }
        #expect(slot.reclaim() == 0)
    }
}
