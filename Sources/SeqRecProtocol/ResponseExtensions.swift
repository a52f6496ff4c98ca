// The extensions of a version 2 RECOMMEND_RESPONSE (docs/PROTOCOL.md §6.8).
//
//   FALLBACK      empty value: the items are the popularity fallback
//   EXPLANATIONS  u32 n (= item count) | n × { u8 m ≤ 3 | m × { id, f32le contribution } }

/// Why one recommended item was recommended: the session items that contributed most to its
/// score, largest contribution first. `contributions[i]` is the exact drop of the item's score when
/// `items[i]` is left out of the session (negative: it pulled the score down).
public struct Explanation: Sendable, Equatable {
    /// Session items, in the response's id space.
    public var items: ItemIDs
    public var contributions: [Float]

    public init(items: ItemIDs, contributions: [Float]) {
        self.items = items
        self.contributions = contributions
    }
}

extension RecommendResponse {
    /// Writes the version 2 extension block. Inlinable and allocation-free for the common case of no
    /// explanations (two or eight bytes).
    @inlinable
    static func writeExtensions(usedFallback: Bool, explanations: [Explanation]?, external: Bool, itemCount: Int,
                                into bytes: inout [UInt8]) {
        bytes.appendU16((usedFallback ? 1 : 0) + (explanations == nil ? 0 : 1))
        if usedFallback {
            bytes.appendExtension(type: ResponseExtensionType.fallback.rawValue) { _ in }
        }
        if let explanations {
            precondition(explanations.count == itemCount, "\(explanations.count) explanations for \(itemCount) items")
            bytes.appendExtension(type: ResponseExtensionType.explanations.rawValue) { value in
                value.appendCount32(explanations.count)
                for explanation in explanations {
                    precondition(explanation.items.count == explanation.contributions.count
                        && explanation.items.count <= ExtensionLimits.maxContributors, "malformed explanation")
                    precondition(explanation.items.isEmpty || explanation.items.isExternal == external,
                                 "explanation ids in the other id space")
                    value.appendU8(UInt8(explanation.items.count))
                    switch explanation.items {
                    case .internal(let ids):
                        for (id, contribution) in zip(ids, explanation.contributions) {
                            value.appendU32(id)
                            value.appendF32LE(contribution)
                        }
                    case .external(let ids):
                        for (id, contribution) in zip(ids, explanation.contributions) {
                            value.appendString16(id)
                            value.appendF32LE(contribution)
                        }
                    }
                }
            }
        }
    }

    /// Reads the version 2 extension block into `usedFallback` and `explanations`.
    mutating func decodeExtensions(from reader: inout BodyReader, limits: ProtocolLimits) throws(ProtocolError) {
        usedFallback = false
        explanations = nil
        var block = try ExtensionBlockReader(from: &reader)
        while var value = try block.next(from: &reader, maximumLength: { type in
            switch ResponseExtensionType(rawValue: type) {
            case .fallback: 0
            case .explanations: Int(UInt32.max)  // bounded by the body: `next` checked the remaining bytes
            case nil: nil
            }
        }) {
            // safe: `next` returns only types its closure knows.
            let type = ResponseExtensionType(rawValue: value.type)!
            switch type {
            case .fallback:
                usedFallback = true
            case .explanations:
                explanations = try decodeExplanations(from: &value.reader, limits: limits)
            }
            try value.reader.finishExtension(type.name)
        }
    }

    private func decodeExplanations(from reader: inout BodyReader, limits: ProtocolLimits) throws(ProtocolError)
        -> [Explanation]
    {
        let count = try reader.readCount("extension EXPLANATIONS.n", limit: limits.maxK, minimumElementSize: 1)
        guard count == items.count else {
            throw .invalidValue(field: "extension EXPLANATIONS.n (the response has \(items.count) items)", value: count)
        }
        let external = items.isExternal
        var explanations: [Explanation] = []
        explanations.reserveCapacity(count)  // safe: count ≤ max_k and backed by ≥ count body bytes
        for index in 0..<count {
            let field = "extension EXPLANATIONS[\(index)]"
            let contributors = Int(try reader.readU8("\(field).m"))
            guard contributors <= ExtensionLimits.maxContributors else {
                throw .countExceedsLimit(field: "\(field).m", count: contributors, limit: ExtensionLimits.maxContributors)
            }
            var internalIDs: [UInt32] = []
            var externalIDs: [String] = []
            var contributions: [Float] = []
            for position in 0..<contributors {
                let item = "\(field).items[\(position)]"
                if external {
                    externalIDs.append(try reader.readString16(item, maxBytes: limits.maxStringBytes, allowEmpty: false))
                } else {
                    internalIDs.append(try reader.readU32(item))
                }
                contributions.append(try reader.readF32LE("\(field).contributions[\(position)]"))
            }
            explanations.append(Explanation(items: external ? .external(externalIDs) : .internal(internalIDs),
                                            contributions: contributions))
        }
        return explanations
    }
}
