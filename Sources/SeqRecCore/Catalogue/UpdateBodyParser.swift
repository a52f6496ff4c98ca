// Reads an update body `{"updates": [{...}, ...]}` (PATCH bodies and journal lines) straight into
// `AttributeUpdate`s, without building a JSON tree: the tree and its per-field arrays were a third of
// a 10,000-item PATCH. It drives the tree reader's lexer (`CatalogueJSON.Reader`: whitespace, keys,
// each field's small value) and the same per-field rules (`AttributeUpdate.read`), so it accepts exactly
// what the tree path (`CatalogueJSON.parse` + `AttributeJournal.batch`) accepts, with the same updates.
// It only decides whether a body is good: a rejected body is read again by the tree path, whose error
// names the byte offset or the field (`updates[3].categories[0]: has 0 bytes ...`). Rejections are rare
// and cheap next to a round trip, and the error answers stay exactly the documented ones.

enum UpdateBodyParser {
    /// The body's updates; on any problem the tree path's error (see above).
    static func batch(_ bytes: ArraySlice<UInt8>, tokenOnly: Bool) throws(CatalogueError) -> [AttributeUpdate] {
        if let updates = bytes.withUnsafeBufferPointer({ parse($0, tokenOnly: tokenOnly) }) { return updates }
        return try AttributeJournal.batch(try CatalogueJSON.parse(bytes), tokenOnly: tokenOnly)
    }

    /// The body's updates, or nil when the tree path would refuse it (syntax, shape or field).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, tokenOnly: Bool) -> [AttributeUpdate]? {
        var reader = CatalogueJSON.Reader(bytes: bytes)
        var updates: [AttributeUpdate] = []
        // The body object (depth 0) has exactly one key, "updates", holding an array (depth 1).
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")), reader.key() == "updates" else { return nil }
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "[")) else { return nil }
        reader.skipSpace()
        if !reader.take(UInt8(ascii: "]")) {
            repeat {
                reader.skipSpace()
                guard let update = self.update(&reader, tokenOnly: tokenOnly) else { return nil }
                updates.append(update)
                reader.skipSpace()
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "]")) else { return nil }
        }
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "}")) else { return nil }
        reader.skipSpace()
        return reader.position == bytes.count ? updates : nil
    }

    /// One update object (depth 2); its fields' values are read as small trees at depth 3, as the tree
    /// path does.
    private static func update(_ reader: inout CatalogueJSON.Reader, tokenOnly: Bool) -> AttributeUpdate? {
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        var update = AttributeUpdate(key: .id(0))
        var key: ItemKey?
        reader.skipSpace()
        if !reader.take(UInt8(ascii: "}")) {
            repeat {
                reader.skipSpace()
                guard let name = reader.key() else { return nil }
                reader.skipSpace()
                // Every known field read sets one of these bits (unknown ones are refused by `read`): a
                // bit already set means a duplicate key, which the tree path refuses too.
                let before = update.fieldBits | (key == nil ? 0 : 8)
                guard let value = try? reader.value(depth: 3),
                      (try? update.read(field: name, value, key: &key, tokenOnly: tokenOnly)) != nil,
                      update.fieldBits | (key == nil ? 0 : 8) != before else { return nil }
                reader.skipSpace()
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "}")) else { return nil }
        }
        guard let key else { return nil }
        update.key = key
        return update
    }
}

extension CatalogueJSON.Reader {
    /// Consumes `byte` when it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// An object key and its colon (spaces allowed around the colon), or nil when there is none.
    mutating func key() -> String? {
        skipSpace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), let name = try? string() else { return nil }
        skipSpace()
        return take(UInt8(ascii: ":")) ? name : nil
    }
}
