// One item's attributes and one update to them, as read from attribute files, journal lines and PATCH
// bodies (docs/OPERATIONS.md, "Item attributes"). Limits keep a hostile input from growing the store
// without bound.

/// What the catalogue knows about one item. An item never mentioned is available, in no category and
/// never expires.
public struct ItemAttributes: Sendable, Equatable {
    public var available = true
    /// Category names, distinct, in the order first given (numbers as their decimal strings).
    public var categories: [String] = []
    /// Milliseconds since 1970-01-01T00:00:00Z after which the item counts as unavailable; nil: never.
    public var expiresAt: Int64?

    public init(available: Bool = true, categories: [String] = [], expiresAt: Int64? = nil) {
        self.available = available
        self.categories = categories
        self.expiresAt = expiresAt
    }

    /// The update that sets `fields` (`AttributeUpdate.fieldBits`) of item `key` to these values.
    func update(key: ItemKey, fields: UInt8) -> AttributeUpdate {
        AttributeUpdate(key: key, available: fields & AttributeUpdate.availableBit != 0 ? available : nil,
                        categories: fields & AttributeUpdate.categoriesBit != 0 ? categories : nil,
                        expiresAt: fields & AttributeUpdate.expiresAtBit != 0 ? expiresAt.map { .at($0) } ?? .never : nil)
    }

    /// Available and not expired at `now` (milliseconds since the epoch).
    public func isAvailable(at now: Int64) -> Bool { available && (expiresAt.map { now < $0 } ?? true) }

    /// {"id": ..., "available": ..., "categories": [...], "expires_at": ... or null}, one line.
    public func json(id: String) -> String {
        var text = "{\"id\":\(CatalogueJSON.quoted(id)),\"available\":\(available),\"categories\":["
        text += categories.map(CatalogueJSON.quoted).joined(separator: ",")
        text += "],\"expires_at\":" + (expiresAt.map { "\"\(Timestamp.format($0))\"" } ?? "null") + "}"
        return text
    }
}

/// Which item an update names: an external id (a vocabulary token; for a model without a vocabulary,
/// the internal id's decimal string) or an internal id of the model version serving now.
public enum ItemKey: Sendable, Hashable {
    case token(String)
    case id(Int64)
}

/// A change to one item; nil fields stay as they are.
public struct AttributeUpdate: Sendable, Equatable {
    public enum Expiry: Sendable, Equatable {
        case at(Int64)
        case never
    }

    public var key: ItemKey
    public var available: Bool?
    public var categories: [String]?
    public var expiresAt: Expiry?

    public init(key: ItemKey, available: Bool? = nil, categories: [String]? = nil, expiresAt: Expiry? = nil) {
        self.key = key
        self.available = available
        self.categories = categories
        self.expiresAt = expiresAt
    }

    static let availableBit: UInt8 = 1, categoriesBit: UInt8 = 2, expiresAtBit: UInt8 = 4

    /// The fields this update sets, as `availableBit | categoriesBit | expiresAtBit`.
    var fieldBits: UInt8 {
        (available == nil ? 0 : Self.availableBit) | (categories == nil ? 0 : Self.categoriesBit)
            | (expiresAt == nil ? 0 : Self.expiresAtBit)
    }

    /// The expiry this update sets as a version stores it, in milliseconds since the epoch (`Int64.max`:
    /// never); nil when the update leaves the expiry as it is.
    var expiry: Int64? {
        switch expiresAt {
        case .at(let time): time
        case .never: .max
        case nil: nil
        }
    }

    public static let maxCategoriesPerItem = 32
    public static let maxIDBytes = 256

    /// Applies the update's fields to `attributes`.
    public func apply(to attributes: inout ItemAttributes) {
        if let available { attributes.available = available }
        if let categories { attributes.categories = categories }
        switch expiresAt {
        case .at(let time): attributes.expiresAt = time
        case .never: attributes.expiresAt = nil
        case nil: break
        }
    }

    /// Reads one update object: "id" (a string = external id; a number = internal id, unless
    /// `tokenOnly`), "available" (bool), "categories" (array of strings or integers), "expires_at" (RFC
    /// 3339 string, or null to clear). Unknown keys are errors (a misspelt field must not be ignored).
    static func parse(_ value: CatalogueJSON, tokenOnly: Bool) throws(CatalogueError) -> AttributeUpdate {
        guard case .object(let fields) = value else {
            throw CatalogueError(field: "", "expected an object, found \(value.typeName)")
        }
        var key: ItemKey?
        var update = AttributeUpdate(key: .id(0))
        for (name, field) in fields { try update.read(field: name, field, key: &key, tokenOnly: tokenOnly) }
        guard let key else { throw CatalogueError(field: "id", "missing; every update names its item") }
        update.key = key
        return update
    }

    /// Checks one field of an update object and sets it ("id" goes to `key`). The tree reader (`parse`)
    /// and the streaming one (`UpdateBodyParser`) share it, so both accept exactly the same fields.
    mutating func read(field name: String, _ field: CatalogueJSON, key: inout ItemKey?, tokenOnly: Bool) throws(CatalogueError) {
        switch name {
        case "id":
            switch field {
            case .string(let token):
                guard (1...Self.maxIDBytes).contains(token.utf8.count) else {
                    throw CatalogueError(field: "id", "has \(token.utf8.count) bytes (expected 1…\(Self.maxIDBytes))")
                }
                key = .token(token)
            case .number(let text) where !tokenOnly:
                guard let id = Int64(text), id >= 0, id <= Int64(Int32.max) else {
                    throw CatalogueError(field: "id", "\(text.prefix(32)) is not an internal id (an integer 0…\(Int32.max))")
                }
                key = .id(id)
            default:
                throw CatalogueError(field: "id", "expected \(tokenOnly ? "a string (the external id)" : "a string (external id) or an integer (internal id)"), found \(field.typeName)")
            }
        case "available":
            guard case .bool(let flag) = field else { throw CatalogueError(field: "available", "expected true or false, found \(field.typeName)") }
            available = flag
        case "categories":
            categories = try Self.categories(field)
        case "expires_at":
            switch field {
            case .null: expiresAt = .never
            case .string(let text):
                guard let time = Timestamp.parse(text) else {
                    throw CatalogueError(field: "expires_at", "'\(text.prefix(40))' is not an RFC 3339 time such as \"2026-12-31T00:00:00Z\" (years 1970…9999)")
                }
                expiresAt = .at(time)
            default:
                throw CatalogueError(field: "expires_at", "expected an RFC 3339 string or null, found \(field.typeName)")
            }
        default:
            throw CatalogueError(field: String(name.prefix(64)), "unknown field; expected id, available, categories, expires_at")
        }
    }

    private static func categories(_ value: CatalogueJSON) throws(CatalogueError) -> [String] {
        guard case .array(let elements) = value else {
            throw CatalogueError(field: "categories", "expected an array of names or integers, found \(value.typeName)")
        }
        guard elements.count <= maxCategoriesPerItem else {
            throw CatalogueError(field: "categories", "\(elements.count) categories, at most \(maxCategoriesPerItem) per item")
        }
        var names: [String] = []
        for (position, element) in elements.enumerated() {
            let name: String
            switch element {
            case .string(let text): name = text
            case .number(let text):
                guard let number = Int64(text) else {
                    throw CatalogueError(field: "categories[\(position)]", "\(text.prefix(32)) is not an integer")
                }
                name = String(number)
            default:
                throw CatalogueError(field: "categories[\(position)]", "expected a name or an integer, found \(element.typeName)")
            }
            guard (1...ItemFilters.maxCategoryNameBytes).contains(name.utf8.count) else {
                throw CatalogueError(field: "categories[\(position)]", "has \(name.utf8.count) bytes (expected 1…\(ItemFilters.maxCategoryNameBytes))")
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}

extension CatalogueJSON {
    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal's UTF-8: quote, backslash and control bytes escaped
    /// (every byte of a multi-byte character is ≥ 0x80 and passes unchanged).
    static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Fast path, the usual id or category name: nothing to escape, the bytes copied in one go.
        var text = text
        let copied = text.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
