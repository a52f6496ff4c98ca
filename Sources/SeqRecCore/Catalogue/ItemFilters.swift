// A request's rule filters over the model's item attributes (docs/OPERATIONS.md, "Item attributes").
// They combine with the query's allow/deny/candidates/excludeSeen: an item is returned only when every
// rule lets it through.

/// Which items a request may return, judged by the model's item attributes (`ItemCatalogue`).
/// - `availableOnly` (default true): skip items marked unavailable or whose `expires_at` has passed.
///   A model without attributes has every item available, so the default changes nothing there; a
///   request sets it to false to see unavailable and expired items too.
/// - `categoriesInclude`: when not empty, only items in at least one of these categories.
/// - `categoriesExclude`: never items in any of these categories (wins over include).
/// - `maxPerCategory`: at most this many returned items per category, taken greedily best first: an item
///   is skipped while any of its categories already has that many items in the answer (items without a
///   category are not capped). nil: no cap.
/// Category names are compared byte for byte; a category no item has matches nothing (not an error: a
/// category may be empty right now). Numeric categories are their decimal strings ("7").
public struct ItemFilters: Sendable, Equatable {
    public var availableOnly = true
    public var categoriesInclude: [String] = []
    public var categoriesExclude: [String] = []
    public var maxPerCategory: Int?

    /// Most names in `categoriesInclude` or `categoriesExclude` (each list).
    public static let maxCategoriesPerList = 64
    /// Longest category name, in UTF-8 bytes.
    public static let maxCategoryNameBytes = 128

    public init(availableOnly: Bool = true, categoriesInclude: [String] = [], categoriesExclude: [String] = [],
                maxPerCategory: Int? = nil) {
        self.availableOnly = availableOnly
        self.categoriesInclude = categoriesInclude
        self.categoriesExclude = categoriesExclude
        self.maxPerCategory = maxPerCategory
    }

    /// True when the filters can exclude nothing beyond availability (no category rule, no cap).
    public var hasCategoryRules: Bool { !categoriesInclude.isEmpty || !categoriesExclude.isEmpty || maxPerCategory != nil }

    /// Checks the lists' sizes and names and the cap's range; allocation-free.
    public func validate() throws(RecommendError) {
        try Self.check(categoriesInclude, field: "filters.categories_include")
        try Self.check(categoriesExclude, field: "filters.categories_exclude")
        if let cap = maxPerCategory, !(1...SessionQuery.maxK).contains(cap) {
            throw RecommendError(.invalidFilter, field: "filters.max_per_category",
                                 "\(cap) is out of range (expected 1…\(SessionQuery.maxK), or no cap)")
        }
    }

    private static func check(_ names: [String], field: String) throws(RecommendError) {
        guard names.count <= maxCategoriesPerList else {
            throw RecommendError(.invalidFilter, field: field,
                                 "\(names.count) categories, at most \(maxCategoriesPerList) allowed; split the rule or use fewer")
        }
        for (position, name) in names.enumerated() {
            let bytes = name.utf8.count
            guard bytes > 0, bytes <= maxCategoryNameBytes else {
                throw RecommendError(.invalidFilter, field: field,
                                     "the name at position \(position) has \(bytes) bytes (expected 1…\(maxCategoryNameBytes))")
            }
        }
    }
}
