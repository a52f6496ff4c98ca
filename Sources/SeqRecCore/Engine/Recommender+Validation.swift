// The one check between a caller's query and the engine's unchecked loops (bitsets, table rows): every
// id, k and list is compared with the model's ranges here, and `InferenceContext.recommend` runs it on
// every query before anything is computed. The rules are those of `SessionQuery`'s documentation.

extension Recommender {
    /// Checks a query against the model; the error's code says what kind of mistake it is, its field and
    /// message name the offending value. Allocation-free.
    public func validate(_ query: SessionQuery) throws(RecommendError) {
        let inputs = encoder.inputItems
        if query.items.isEmpty {
            guard query.fallback else {
                throw RecommendError(.emptySession, field: "session",
                                     "empty; send at least one item, or ask for the popularity fallback")
            }
            guard info.hasPopularity else {
                throw RecommendError(.noPopularity, field: "fallback",
                                     "the session is empty and model '\(info.name)' has no popularity ranking; "
                                         + "convert it with `seqrec convert --popularity <interactions>`, or send items")
            }
        }
        for (position, item) in query.items.enumerated() where !inputs.contains(Int(item)) {
            throw RecommendError(.itemOutOfRange, field: "session",
                                 "\(describe(item)) at position \(position) is not an input id of model '\(info.name)' "
                                     + "(expected \(inputs.lowerBound)…\(inputs.upperBound - 1))")
        }
        guard (1...SessionQuery.maxK).contains(query.k) else {
            throw RecommendError(.kOutOfRange, field: "k", "\(query.k) is out of range (expected 1…\(SessionQuery.maxK))")
        }
        try checkAnswerOptions(query)
        try checkRecommendable("allow", query.allow)
        try checkRecommendable("deny", query.deny)
        try checkRecommendable("candidates", query.candidates)
        try query.filters.validate()
        if let candidates = query.candidates {
            guard !candidates.isEmpty else {
                throw RecommendError(.emptyCandidates, field: "candidates", "empty; send at least k candidates, or none to score every item")
            }
            let distinct = Self.distinctCount(candidates, upTo: query.k)
            guard distinct >= query.k else {
                throw RecommendError(.kOutOfRange, field: "k",
                                     "\(query.k) exceeds the \(distinct) distinct candidates; ask for at most \(distinct)")
            }
        }
    }

    /// Diversity within range; an explained window small enough to run as one extra batch per item.
    private func checkAnswerOptions(_ query: SessionQuery) throws(RecommendError) {
        if let diversity = query.diversity {
            guard diversity.lambda.isFinite, (0...1).contains(diversity.lambda) else {
                throw RecommendError(.diversityOutOfRange, field: "diversity.lambda",
                                     "\(diversity.lambda) is out of range (expected 0…1: 1 = plain relevance order)")
            }
            guard (query.k...SessionQuery.maxK).contains(diversity.pool) else {
                throw RecommendError(.diversityOutOfRange, field: "diversity.pool",
                                     "\(diversity.pool) is out of range (expected k = \(query.k) … \(SessionQuery.maxK))")
            }
        }
        // Windows of up to maxExplainedItems items pass without counting (no scratch set: allocation-free).
        if query.explain, query.items.count > SessionQuery.maxExplainedItems {
            let window = query.items.suffix(info.maxSessionLength)
            let distinct = Self.distinctCount(window, upTo: SessionQuery.maxExplainedItems + 1)
            guard distinct <= SessionQuery.maxExplainedItems else {
                throw RecommendError(.tooManyToExplain, field: "explain",
                                     "the session's newest \(window.count) items hold more than "
                                         + "\(SessionQuery.maxExplainedItems) distinct items; explain a shorter session")
            }
        }
    }

    /// Allow, deny and candidate ids must be recommendable: `firstItem ..< firstItem + itemCount`.
    private func checkRecommendable(_ field: String, _ list: [Int32]?) throws(RecommendError) {
        let recommendable = info.firstItem ..< info.firstItem + info.itemCount
        for (position, item) in (list ?? []).enumerated() where !recommendable.contains(Int(item)) {
            throw RecommendError(.itemOutOfRange, field: field,
                                 "\(describe(item)) at position \(position) is not a recommendable id of model '\(info.name)' "
                                     + "(expected \(recommendable.lowerBound)…\(recommendable.upperBound - 1))")
        }
    }

    /// "item id 7", with the token of a special row when the vocabulary has one ("item id 0 ('[PAD]')").
    private func describe(_ item: Int32) -> String {
        guard let token = file.vocabulary?.token(of: Int(item)) else { return "item id \(item)" }
        return "item id \(item) ('\(token.prefix(64))')"
    }

    /// The number of distinct ids in `ids`, counted up to `limit` (1…`SessionQuery.maxK`): an open-addressing
    /// set of at most 2·limit slots on the stack, so validation allocates nothing. Ids must be ≥ 0.
    static func distinctCount(_ ids: some Collection<Int32>, upTo limit: Int) -> Int {
        guard limit > 1 else { return ids.isEmpty ? 0 : 1 }
        var slotCount = 4
        while slotCount < 2 * limit { slotCount *= 2 }
        let shift = UInt32(32 - slotCount.trailingZeroBitCount)
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: slotCount) { slots in
            slots.initialize(repeating: -1)
            var distinct = 0
            for id in ids {
                // Fibonacci hashing: the top bits of id × 2³²/φ spread consecutive ids over the table.
                var slot = Int((UInt32(bitPattern: id) &* 0x9E37_79B1) >> shift)
                // Terminates: fewer than `limit` ids are stored, so at least half the slots are empty.
                while slots[slot] != -1 && slots[slot] != id { slot = (slot + 1) & (slotCount - 1) }
                guard slots[slot] == -1 else { continue }
                slots[slot] = id
                distinct += 1
                if distinct == limit { return distinct }
            }
            return distinct
        }
    }
}
