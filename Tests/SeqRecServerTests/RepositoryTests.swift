// The model repository's pieces without a server: discovery, version policies (flags and config
// file), the stable session-key split (shares over 10,000 keys, stickiness), the routing file
// (round trip, durability steps, bad files), and the traffic JSON's bad-input catalogue.
import Foundation
import SeqRecOperations
import Testing
@testable import SeqRecServer

@Suite struct RepositoryTests {
    /// A directory tree as a dictionary: path → entries (files have none and are listed in `files`).
    private func scan(_ tree: [String: [String]], files: Set<String>) -> RepositoryScan {
        ModelRepository.scan(root: "/r/", list: { tree[$0] }, isFile: { files.contains($0) })
    }

    @Test func discoveryFollowsTheLayoutAndNamesWhatItSkips() {
        let tree: [String: [String]] = [
            "/r": ["shop", "gru", ".trash", "README.md", "empty"],
            "/r/shop": ["1", "2", "10", "007", "beta", "3", ".5"],
            "/r/shop/1": ["model.seqrec"], "/r/shop/2": ["model.seqrec"], "/r/shop/10": ["model.seqrec"],
            "/r/shop/007": ["model.seqrec"], "/r/shop/beta": [], "/r/shop/3": ["weights.bin"], "/r/shop/.5": ["model.seqrec"],
            "/r/gru": ["0", "4"], "/r/gru/0": ["model.seqrec"], "/r/gru/4": ["model.seqrec"],
            "/r/empty": [], "/r/.trash": ["1"],
        ]
        let files: Set<String> = ["/r/shop/1/model.seqrec", "/r/shop/2/model.seqrec", "/r/shop/10/model.seqrec",
                                  "/r/shop/007/model.seqrec", "/r/gru/0/model.seqrec", "/r/gru/4/model.seqrec"]
        let found = scan(tree, files: files)
        #expect(found.versions(of: "shop") == [1, 2, 10])
        #expect(found.models["shop"]?[10] == "/r/shop/10/model.seqrec")
        #expect(found.versions(of: "gru") == [4])
        #expect(found.models["empty"] == nil && found.models[".trash"] == nil)
        #expect(Set(found.skipped) == [
            "/r/shop/007: not a version (versions are positive integers without leading zeros)",
            "/r/shop/beta: not a version (versions are positive integers without leading zeros)",
            "/r/shop/3: no model.seqrec in it",
            "/r/gru/0: not a version (versions are positive integers without leading zeros)",
        ])
    }

    @Test func policiesPickVersions() {
        let onDisk: [UInt32] = [1, 2, 5, 9]
        #expect(VersionPolicy("latest")?.select(from: onDisk) == [9])
        #expect(VersionPolicy("latest:2")?.select(from: onDisk) == [5, 9])
        #expect(VersionPolicy("latest:10")?.select(from: onDisk) == onDisk)
        #expect(VersionPolicy("specific:9,1,3")?.select(from: onDisk) == [1, 9])
        #expect(VersionPolicy("specific:2")?.description == "specific:2")
        for bad in ["", "newest", "latest:0", "latest:-1", "latest:x", "specific:", "specific:0", "specific:1,,2", "specific:a"] {
            #expect(VersionPolicy(bad) == nil, "\(bad)")
        }
    }

    @Test func repositoryFlagsAndTheirMistakes() throws {
        let configuration = try ServerCommand.parse(arguments: [
            "--model-repository", "/srv/models", "--version-policy", "shop=latest:2", "--version-policy", "gru=specific:3,1",
            "--repository-poll-s", "30",
        ])
        #expect(configuration.modelRepository == "/srv/models")
        #expect(configuration.versionPolicies == ["shop": .latest(2), "gru": .specific([1, 3])])
        #expect(configuration.repositoryPollSeconds == 30)
        #expect(configuration.settings(tokenFile: nil)["version-policy"] == .array([.string("gru=specific:1,3"), .string("shop=latest:2")]))
        for (arguments, expected) in [
            (["--model", "a.seqrec", "--model-repository", "/m"], "exclude each other"),
            (["--version-policy", "shop=latest"], "--version-policy applies to --model-repository"),
            (["--model-repository", "/m", "--version-policy", "shop=newest"], "--version-policy needs NAME=latest"),
            (["--model-repository", "/m", "--version-policy", "=latest"], "--version-policy needs NAME=latest"),
            (["--model-repository", "/m", "--repository-poll-s", "90000"], "--repository-poll-s must be 0...86400"),
            (["--repository-poll-s", "5"], "--repository-poll-s needs --model-repository"),
        ] {
            #expect(throws: ServerCommandError.self, "\(arguments)") { try ServerCommand.parse(arguments: arguments) }
            do {
                _ = try ServerCommand.parse(arguments: arguments)
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
    }

    @Test func theConfigFileWritesPoliciesAsObjects() throws {
        let file = Array("""
            {"model-repository": "/srv/models",
             "version-policy": {"shop": "latest", "gru": {"latest": 2}, "bert": {"specific": [1, 3]}}}
            """.utf8)
        let prepared = try ServeArguments.prepare(arguments: ["--config", "c.json"], serverUsage: ServerCommand.usage) { _ in file }
        let configuration = try ServerCommand.parse(arguments: prepared.serverArguments)
        #expect(configuration.versionPolicies == ["shop": .latest(1), "gru": .latest(2), "bert": .specific([1, 3])])
        for bad in [#"{"version-policy": {"shop": {"latest": "2"}}}"#, #"{"version-policy": {"shop": {"newest": 1}}}"#,
                    #"{"version-policy": {"shop": {"specific": [1, "x"]}}}"#, #"{"version-policy": {"shop": 3}}"#] {
            #expect(throws: ConfigError.self, "\(bad)") {
                try ServeArguments.prepare(arguments: ["--config", "c.json"], serverUsage: ServerCommand.usage) { _ in Array(bad.utf8) }
            }
        }
    }

    // MARK: splits

    private func shares(_ routing: TrafficRouting, keys: Int = 10_000, salt: UInt64 = 7) -> [UInt32: Double] {
        var counts: [UInt32: Int] = [:]
        for key in 0..<keys { counts[routing.splitVersion(forKey: Array("session-\(key)".utf8), salt: salt)!, default: 0] += 1 }
        return counts.mapValues { Double($0) / Double(keys) }
    }

    @Test(arguments: [[90, 10], [50, 50], [1, 1, 1], [70, 20, 10], [5, 95]])
    func splitsHoldTheirSharesWithinThreePercent(weights: [UInt32]) {
        let routing = TrafficRouting(split: weights.enumerated().map { VersionShare(version: UInt32($0.offset + 3), weight: $0.element) })
        let total = Double(weights.reduce(0, +))
        let observed = shares(routing)
        for (index, weight) in weights.enumerated() {
            let expected = Double(weight) / total
            #expect(abs(observed[UInt32(index + 3), default: 0] - expected) <= 0.03, "\(observed) vs \(weights)")
        }
    }

    @Test func aKeyAlwaysGetsTheSameVersion() {
        let routing = TrafficRouting(split: [VersionShare(version: 3, weight: 50), VersionShare(version: 4, weight: 50)])
        let first = (0..<1_000).map { routing.splitVersion(forKey: Array("k\($0)".utf8), salt: 11) }
        let copy = TrafficRouting(split: [VersionShare(version: 4, weight: 50), VersionShare(version: 3, weight: 50)])
        #expect((0..<1_000).map { copy.splitVersion(forKey: Array("k\($0)".utf8), salt: 11) } == first, "order of the shares")
        #expect((0..<1_000).map { routing.splitVersion(forKey: Array("k\($0)".utf8), salt: 11) } == first, "repeated calls")
        // The hash is fixed across processes and releases: these values must never change.
        // (Values computed independently from the algorithm's definition, FNV-1a then splitmix64's finaliser.)
        #expect(TrafficRouting.hash(Array("shopper-42".utf8), salt: 0) == 0x69214e4ef1121107)
        #expect(TrafficRouting.hash([], salt: 0) == 0x813f0174a2367c13)
        // Growing a share moves only keys into it: a shopper in v4 at 10 % stays in v4 at 20 %.
        let ten = TrafficRouting(split: [VersionShare(version: 3, weight: 90), VersionShare(version: 4, weight: 10)])
        let twenty = TrafficRouting(split: [VersionShare(version: 3, weight: 80), VersionShare(version: 4, weight: 20)])
        for key in 0..<2_000 where ten.splitVersion(forKey: Array("k\(key)".utf8), salt: 1) == 4 {
            #expect(twenty.splitVersion(forKey: Array("k\(key)".utf8), salt: 1) == 4)
        }
        #expect(routing.splitVersion(forKey: [], salt: 1) == nil, "keyless requests take the default")
    }

    // MARK: the routing file

    @Test func routingsSurviveARoundTripThroughTheStateDirectory() throws {
        let directory = NSTemporaryDirectory() + "seqrec-state-\(UUID().uuidString)/nested"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try RoutingStore(directory: directory)
        #expect(try store.load().isEmpty)
        let saved: [String: SavedRouting] = [
            "shop": SavedRouting(routing: TrafficRouting(pinnedDefault: 3, split: [VersionShare(version: 3, weight: 90),
                                                                                  VersionShare(version: 4, weight: 10)]),
                                 history: [TrafficRouting(), TrafficRouting(pinnedDefault: 2)]),
            "we\"ird": SavedRouting(routing: TrafficRouting()),
        ]
        try store.save(saved)
        #expect(try store.load() == saved)
        #expect(!FileManager.default.fileExists(atPath: store.path + ".tmp"))
        for bad in ["{", #"{"format": 2, "models": {}}"#, #"{"format": 1, "models": {"shop": {"split": {"0": 5}}}}"#,
                    #"{"format": 1, "models": {"shop": {"split": {"3": -1}}}}"#, #"{"format": 1, "models": {"shop": {"deflt": 3}}}"#] {
            try Data(bad.utf8).write(to: URL(fileURLWithPath: store.path))
            #expect(throws: RoutingStoreError.self, "\(bad)") { try store.load() }
        }
    }

    @Test(arguments: [
        ("", "body"), ("[]", "must be a JSON object"), (#"{}"#, "versions: is missing"),
        (#"{"versions": {"3": 90}, "extra": 1}"#, "extra: is not a known field"),
        (#"{"versions": [3, 4]}"#, "versions: must be an object"), (#"{"versions": {"x": 1}}"#, "versions.x: is not a version"),
        (#"{"versions": {"03": 1}}"#, "versions.03: is not a version"), (#"{"versions": {"3": 1.5}}"#, "versions.3: must be an integer"),
        (#"{"versions": {"3": 2000000}}"#, "versions.3: must be an integer weight"), (#"{"versions": {"3": 0, "4": 0}}"#, "every weight is 0"),
        (#"{"versions": {}, "default": 0}"#, "default: must be 1..."), (#"{"versions": {}, "default": "3"}"#, "default: must be an integer"),
    ])
    func trafficBodiesAreCheckedField(body: String, expected: String) {
        do {
            _ = try LifecycleJSON.trafficUpdate(from: Array(body.utf8))
            Issue.record("\(body) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func trafficBodiesParse() throws {
        let update = try LifecycleJSON.trafficUpdate(from: Array(#"{"versions": {"4": 10, "3": 90}, "default": 3}"#.utf8))
        #expect(update == TrafficUpdate(shares: [VersionShare(version: 3, weight: 90), VersionShare(version: 4, weight: 10)],
                                        defaultVersion: .pin(3)))
        #expect(try LifecycleJSON.trafficUpdate(from: Array(#"{"versions": {}, "default": null}"#.utf8))
            == TrafficUpdate(shares: [], defaultVersion: .unpin))
        #expect(try LifecycleJSON.trafficUpdate(from: Array(#"{"versions": {}}"#.utf8)).defaultVersion == .keep)
    }
}
