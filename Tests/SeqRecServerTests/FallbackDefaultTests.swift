// Issue 15 leftover 3: the per-model fallback default. `--fallback NAME=popular|off` (and its config
// key) parses and prints; a request that does not say gets the model's default, one that says wins;
// the start refuses a default for a model it does not serve (unless a repository may bring it) and
// `popular` for a model without popularity.
import SeqRecCore
import SeqRecProtocol
import Testing
@testable import SeqRecServer

@Suite struct FallbackDefaultTests {
    @Test func theFlagAndItsMistakes() throws {
        let configuration = try ServerCommand.parse(arguments: ["--model", "a=x.seqrec", "--fallback", "a=popular", "--fallback", "b=off"])
        #expect(configuration.fallbackDefaults == ["a": true, "b": false])
        #expect(configuration.settings(tokenFile: nil)["fallback"] == .array([.string("a=popular"), .string("b=off")]))
        for (arguments, expected) in [
            (["--fallback", "a=on"], "--fallback a: 'on' is not a mode; use popular or off"),
            (["--fallback", "=popular"], "--fallback needs NAME=popular or NAME=off"),
            (["--fallback", "popular"], "--fallback needs NAME=popular or NAME=off"),
            (["--fallback"], "--fallback needs a value"),
        ] {
            #expect(throws: ServerCommandError.self, "\(arguments)") { try ServerCommand.parse(arguments: arguments) }
            do {
                _ = try ServerCommand.parse(arguments: arguments)
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test func aRequestThatDoesNotSayGetsTheModelsDefault() throws {
        let backend = RecommenderBackend(DefaultModel.recommender)
        var query = SessionQuery(items: [1], k: 1)
        for (sent, modelDefault, expected) in [(nil, true, true), (nil, false, false), (false, true, false), (true, false, true)] as [(Bool?, Bool, Bool)] {
            let request = RecommendRequest(session: .internal([1, 2]), k: 3, fallback: sent)
            try QueryBuilder.fill(&query, from: request, backend: backend, fallbackDefault: modelDefault)
            #expect(query.fallback == expected, "sent \(String(describing: sent)), model default \(modelDefault)")
        }
        // An empty session is accepted by QueryBuilder only when the fallback (sent or default) is on.
        let empty = RecommendRequest(session: .internal([]), k: 3)
        try QueryBuilder.fill(&query, from: empty, backend: backend, fallbackDefault: true)
        #expect(query.fallback && query.items.isEmpty)
        do {
            try QueryBuilder.fill(&query, from: empty, backend: backend, fallbackDefault: false)
            Issue.record("an empty session with the default off was accepted")
        } catch {
            #expect(error.message.contains("popularity fallback"), "\(error.message)")
        }
    }

    @Test func theStartChecksNamesAndPopularity() throws {
        let backend = RecommenderBackend(DefaultModel.recommender)
        let name = backend.info.name
        var configuration = ServerConfiguration()
        configuration.fallbackDefaults = ["nope": true]
        do {
            _ = try ItemCatalogues(configuration: configuration, backends: [backend])
            Issue.record("a default for a model that is not served was accepted")
        } catch {
            #expect("\(error)".contains("--fallback nope=...: no model named 'nope'"), "\(error)")
        }
        configuration.modelRepository = "/srv/models"   // a reload may bring it
        _ = try ItemCatalogues(configuration: configuration, backends: [backend])
        configuration.fallbackDefaults = [name: false]
        _ = try ItemCatalogues(configuration: configuration, backends: [backend])
        configuration.fallbackDefaults = [name: true]
        guard !DefaultModel.recommender.info.hasPopularity else { return }   // nothing to refuse then
        do {
            _ = try ItemCatalogues(configuration: configuration, backends: [backend])
            Issue.record("popular for a model without popularity was accepted")
        } catch {
            #expect("\(error)".contains("\(name)=popular: the model has no popularity ranking"), "\(error)")
        }
    }
}
