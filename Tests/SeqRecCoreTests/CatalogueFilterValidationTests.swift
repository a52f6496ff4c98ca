import Testing
@testable import SeqRecCore

/// `SessionQuery.filters` out of range is a typed `.invalidFilter` naming the field, through every entry
/// point (the checks of `LibraryBadInputTests.expectEverywhere`).
@Suite("Catalogue: filter validation")
struct CatalogueFilterValidationTests {
    let bad = LibraryBadInputTests()

    func query(_ change: (inout ItemFilters) -> Void) -> SessionQuery {
        var query = SessionQuery(items: [358, 53], k: 3)
        change(&query.filters)
        return query
    }

    @Test("max_per_category outside 1…maxK", arguments: [0, -1, SessionQuery.maxK + 1, Int.max, Int.min])
    func capOutOfRange(_ cap: Int) {
        bad.expectEverywhere(query { $0.maxPerCategory = cap }, .invalidFilter, "filters.max_per_category", "out of range")
    }

    @Test func emptyAndLongCategoryNames() {
        bad.expectEverywhere(query { $0.categoriesInclude = ["Action", ""] }, .invalidFilter,
                             "filters.categories_include", "position 1")
        let long = String(repeating: "é", count: 65)  // 130 UTF-8 bytes
        bad.expectEverywhere(query { $0.categoriesExclude = [long] }, .invalidFilter, "filters.categories_exclude", "130 bytes")
    }

    @Test func tooManyCategories() {
        let names = (0...ItemFilters.maxCategoriesPerList).map { "c\($0)" }
        bad.expectEverywhere(query { $0.categoriesInclude = names }, .invalidFilter, "filters.categories_include", "at most 64")
    }

    @Test func validFiltersPass() throws {
        let recommender = LibraryBadInputTests.sasrec.recommender
        let good = query {
            $0 = ItemFilters(availableOnly: false, categoriesInclude: ["Action", "7"], categoriesExclude: ["Horror"],
                             maxPerCategory: SessionQuery.maxK)
        }
        try recommender.validate(good)
        #expect(SessionQuery(items: [1]).filters == ItemFilters(), "the default filters")
        #expect(ItemFilters().availableOnly && !ItemFilters().hasCategoryRules)
    }
}
