// `seqrec demo`: the whole product in one command. Starts `seqrec serve` in-process on a free
// loopback port with the default model, sends one real RECOMMEND over TCP with the Swift client (the
// session as the gateway's own item ids), prints the answer with titles, then drains the server.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecServer

struct DemoCommand {
    static let defaultSession = "Star Wars; Return of the Jedi; Empire Strikes Back; Raiders of the Lost Ark"

    let session: String
    let k: Int
    let serverArguments: [String]

    init(_ arguments: inout Arguments) throws {
        session = try arguments.option("--session") ?? Self.defaultSession
        k = try arguments.integer("--k", default: 10, in: 1...SessionQuery.maxK)
        serverArguments = try arguments.options("--model").flatMap { ["--model", $0] }
        try arguments.finish()
    }

    func run() async throws {
        var configuration = try ServerCommand.parse(arguments: serverArguments + ["--port", "0"])
        configuration.drainDelayMilliseconds = 0
        configuration.drainGraceMilliseconds = 2_000
        let sources = try configuration.resolvedModels(
            fileExists: { FileManager.default.fileExists(atPath: $0) },
            listDirectory: { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] })
        let recommender = try Recommender(path: sources[0].path, name: sources[0].name, maxBatch: configuration.maxBatch)
        let server = try Server(configuration: configuration, backends: [RecommenderBackend(recommender)])
        let finished = DispatchSemaphore(value: 0)
        let serving = Thread {
            do { try server.run() } catch { FileHandle.standardError.write(Data("seqrec demo: server: \(error)\n".utf8)) }
            finished.signal()
        }
        serving.start()
        defer {
            server.drain()
            finished.wait()
        }
        print("server: \(recommender.info.name) (\(recommender.info.family), \(recommender.info.itemCount) items) on 127.0.0.1:\(server.port)")

        // The gateway knows its own item ids: turn the titles into vocabulary tokens client-side (a model
        // without a vocabulary only has internal ids).
        let ids = try SessionParser(recommender: recommender, external: false).parse(session)
        let sent: ItemIDs = recommender.vocabulary == nil ? .internal(ids.map { UInt32($0) }) : .external(ids.map { recommender.token(of: $0) })
        let client = try SeqRecClient(host: "127.0.0.1", port: server.port)
        defer { client.close() }
        let started = ContinuousClock.now
        let response = try await client.recommend(
            RecommendRequest(session: sent, k: k, excludeSeen: true), timeout: .seconds(2))
        let elapsed = ContinuousClock.now - started
        print("session: " + ids.map { title(of: $0, recommender) }.joined(separator: " → "))
        let microseconds = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        print("recommended by \(response.modelName) v\(response.modelVersion) over TCP in \(Int(microseconds)) µs "
            + "(first request on a new connection):")
        let answer: [(name: String, id: String)]
        switch response.items {
        case .external(let tokens):
            answer = tokens.map { token in
                (recommender.vocabulary?.id(ofToken: token).map { title(of: Int32($0), recommender) } ?? token, token)
            }
        case .internal(let items):
            answer = items.map { (title(of: Int32(clamping: $0), recommender), String($0)) }
        }
        for (rank, (item, score)) in zip(answer, response.scores).enumerated() {
            print("\(String(rank + 1).leftPadded(to: 3)). \(item.name)  (item \(item.id), score \(score))")
        }
    }

    private func title(of item: Int32, _ recommender: Recommender) -> String {
        recommender.vocabulary?.title(of: Int(item)) ?? recommender.token(of: item)
    }
}
