// Protocol version 2 options through a real server and the shipped default model: each option sent
// over the wire gives exactly the answer of the in-process engine run with the equivalent
// `SessionQuery` (so QueryBuilder maps every field), and the answer's extensions carry the engine's
// fallback flag and contributions. (New file of the protocol branch.)
import SeqRecClient
import SeqRecCore
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite("Protocol v2 options end to end", .serialized)
struct ProtocolOptionsEndToEndTests {
    private func expected(_ configure: (inout SessionQuery) -> Void, session: [Int32], k: Int) throws -> Recommendation {
        var query = SessionQuery(items: session, k: k)
        configure(&query)
        return try DefaultModel.recommender.makeContext().recommend(query)
    }

    private func expectSameItems(_ response: RecommendResponse, _ expected: Recommendation,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.items == .internal(expected.items.map { UInt32($0) }), sourceLocation: sourceLocation)
        for (got, want) in zip(response.scores, expected.scores) {
            #expect(abs(got - want) <= 1e-4 * max(1, abs(want)), sourceLocation: sourceLocation)
        }
    }

    @Test func everyOptionGivesTheInProcessAnswer() async throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)])
        defer { _ = server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        #expect(connection.protocolVersion == 2)
        let session = DefaultModel.session(7, length: 6)
        let wireSession = ItemIDs.internal(session.map { UInt32($0) })

        // Explanations: the first 2 of the engine's contributors per item, in order.
        let explained = try await connection.recommend(
            RecommendRequest(session: wireSession, k: 5, sessionKey: Array("shopper-1".utf8), explainContributors: 2))
        let reference = try expected({ $0.explain = true }, session: session, k: 5)
        expectSameItems(explained, reference)
        let explanations = try #require(explained.explanations)
        #expect(explanations.count == 5 && !explained.usedFallback)
        for (index, explanation) in explanations.enumerated() {
            let want = reference.because(ofItem: index).prefix(2)
            #expect(explanation.items == .internal(want.map { UInt32($0.item) }))
            #expect(explanation.contributions == want.map(\.contribution))
        }
        #expect(explanations.allSatisfy { $0.items.count == min(2, reference.contributorsPerItem) })

        // Diversity, explicit pool and the server's default pool (max(k, 200)).
        let diverse = try await connection.recommend(
            RecommendRequest(session: wireSession, k: 8, diversity: RecommendDiversity(lambda: 0.3, pool: 40)))
        expectSameItems(diverse, try expected({ $0.diversity = DiversityOptions(lambda: 0.3, pool: 40) }, session: session, k: 8))
        let defaultPool = try await connection.recommend(
            RecommendRequest(session: wireSession, k: 8, diversity: RecommendDiversity(lambda: 0.3)))
        expectSameItems(defaultPool, try expected({ $0.diversity = DiversityOptions(lambda: 0.3, pool: 200) }, session: session, k: 8))
        #expect(diverse.explanations == nil, "no EXPLANATIONS unless asked for")

        // Filters (a model without attributes: the same ItemFilters in process), with a category cap.
        let filters = RecommendFilters(availableOnly: false, categoriesExclude: ["Horror"], maxPerCategory: 2)
        let filtered = try await connection.recommend(RecommendRequest(session: wireSession, k: 6, filters: filters))
        expectSameItems(filtered, try expected({
            $0.filters = ItemFilters(availableOnly: false, categoriesExclude: ["Horror"], maxPerCategory: 2)
        }, session: session, k: 6))
    }

    @Test func fallbackIsRefusedNamingTheOptionForAModelWithoutPopularity() async throws {
        let server = try TestServer(backends: [RecommenderBackend(DefaultModel.recommender)])
        defer { _ = server.stop() }
        let connection = try await SeqRecConnection(port: server.port)
        defer { connection.close() }
        let cold = RecommendRequest(session: .internal([]), k: 3, fallback: true)
        if DefaultModel.recommender.info.hasPopularity {
            let answer = try await connection.recommend(cold)
            #expect(answer.usedFallback && answer.items.count == 3)
        } else {
            await #expect { try await connection.recommend(cold) } throws: { error in
                let error = error as? SeqRecError
                return error?.status == .invalidArgument && error?.message.contains("fallback") == true
            }
        }
        // With the option off an empty session is refused by the codec (never sent); without it the
        // server's default for the model (off here: no --fallback) refuses it naming the fallback.
        await #expect { try await connection.recommend(RecommendRequest(session: .internal([]), k: 3, fallback: false)) } throws: { error in
            (error as? SeqRecError)?.kind == .invalidRequest
        }
        await #expect { try await connection.recommend(RecommendRequest(session: .internal([]), k: 3)) } throws: { error in
            let error = error as? SeqRecError
            return error?.status == .invalidArgument && error?.message.contains("fallback") == true
        }
    }
}
