// seqrec-example <model file> <server port>
// 1. Loads the model in-process and recommends for a session given as external ids (MovieLens ids).
// 2. Sends the same request to the server on 127.0.0.1:<port> (serving the same file) with the client.
// 3. Exits 0 when both answers agree, 1 (with the difference) when they do not.
import Foundation
import SeqRecClient
import SeqRecCore
import SeqRecProtocol

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let port = UInt16(arguments.last!) else {
    FileHandle.standardError.write(Data("usage: seqrec-example <model.seqrec> <server port>\n".utf8))
    exit(2)
}
let modelPath = arguments.first!
let session = ["50", "181", "172", "174"]   // Star Wars, Return of the Jedi, Empire Strikes Back, Raiders

do {
    // The library changes no process-wide state by itself: the application chooses OpenBLAS's threads.
    configureBLASThreads(1)
    let recommender = try Recommender(path: modelPath)
    var query = SessionQuery(items: try recommender.resolve(tokens: session, skipUnknown: false, field: "session"), k: 5)
    query.excludeSeen = true
    let local = try recommender.makeContext().recommend(query)
    let localTokens = local.items.map { recommender.token(of: $0) }
    print("in-process (\(recommender.info.name), \(recommender.info.itemCount) items):")
    for (item, score) in zip(local.items, local.scores) {
        print("  \(recommender.token(of: item))  \(recommender.vocabulary?.title(of: Int(item)) ?? "")  \(score)")
    }

    let client = SeqRecClient(host: "127.0.0.1", port: port)
    defer { client.close() }
    let response = try await client.recommend(
        RecommendRequest(session: .external(session), k: 5, excludeSeen: true), timeout: .seconds(5))
    print("server \(response.modelName) v\(response.modelVersion): \(response.items)")

    guard response.items == .external(localTokens) else {
        FileHandle.standardError.write(Data("seqrec-example: the server answered \(response.items), in-process \(localTokens)\n".utf8))
        exit(1)
    }
    for (remote, inProcess) in zip(response.scores, local.scores) where abs(remote - inProcess) > 1e-4 * max(1, abs(inProcess)) {
        FileHandle.standardError.write(Data("seqrec-example: scores differ: \(response.scores) vs \(local.scores)\n".utf8))
        exit(1)
    }
    print("seqrec-example: in-process and server answers agree")
} catch {
    FileHandle.standardError.write(Data("seqrec-example: \(error)\n".utf8))
    exit(1)
}
