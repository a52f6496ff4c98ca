// Everything `seqrec serve` can be told: where to listen, which models to serve, and every limit.
// Defaults follow docs/PROTOCOL.md §12 and the drain sequence of §10.
import SeqRecCore
import SeqRecPosix
import SeqRecProtocol

/// One model to serve: a converted `.seqrec` file and the name clients use for it.
public struct ModelSource: Sendable, Equatable {
    public var path: String
    /// nil = the name stored in the file (or derived from it by the engine).
    public var name: String?

    public init(path: String, name: String? = nil) {
        self.path = path
        self.name = name
    }
}

public struct ServerConfiguration: Sendable, Equatable {
    /// Where the default model lives when `--model` is not given, relative to the working directory.
    public static let defaultModelDirectory = "Models"
    public static let defaultModelPath = "Models/default.seqrec"

    public var host = "127.0.0.1"
    /// 0 = let the kernel choose (the ready line and `Server.port` tell which).
    public var port: UInt16 = 7878
    /// Served models; the first is the default model (empty model name in a request).
    /// Empty = the default model of `Models/` (see `resolvedModels`).
    public var models: [ModelSource] = []

    /// Kernel path of every model; nil = automatic. (`seqrec serve` fills it from `SEQREC_KERNELS` when
    /// --kernels is not given: reading the environment is the executable's job, not the library's.)
    public var kernels: KernelSelection?
    /// Where scoring tables live (`seqrec serve` fills it from `SEQREC_TABLE_MEMORY`).
    public var tableMemory = TableMemory.automatic
    /// Which of a file's scan tables is used (exact top-k from the int8 or bf16 scan) or none
    /// (`seqrec serve` fills it from `SEQREC_SCAN_TABLE`).
    public var scanTable = ScanTablePolicy.automatic
    /// Threads one request's int8 scan may split over (`--scan-threads`; nil: not given, 1; `seqrec serve`
    /// fills it from `SEQREC_SCAN_THREADS` then). Helpers are taken only when idle (docs/KERNELS.md,
    /// "Multi-core scans").
    public var scanThreads: Int?
    /// Inference threads, each with its own context per model.
    public var workers: Int = ServerConfiguration.defaultWorkerCount
    /// Largest batch one model call runs.
    public var maxBatch = 64
    /// How long the oldest queued request may wait for company before its batch runs.
    /// 0: a free worker takes whatever is queued at once; batches form from the requests that arrive
    /// while the workers are busy (measured in Benchmarks/RESULTS.md §5: lower p50 and p99 than 200 µs).
    public var maxDelayMicroseconds = 0
    /// Requests waiting for a worker (all models); beyond it: RESOURCE_EXHAUSTED + NOT_PROCESSED.
    public var maxQueue = 1_024
    public var maxConnections = 1_024
    public var maxInflightPerConnection = 128
    public var maxFrameLength = 4 * 1_024 * 1_024
    /// Per-connection bytes waiting to be written; a reader slower than this is disconnected.
    public var maxOutputBytes = 8 * 1_024 * 1_024
    /// A frame must arrive completely within this time of its first byte.
    public var frameReadTimeoutMilliseconds = 10_000
    /// A connection with nothing in flight and no frame for this long gets GOAWAY OK and is closed.
    public var idleTimeoutMilliseconds = 600_000
    public var defaultTimeoutMicroseconds: UInt32 = 1_000_000
    public var maxTimeoutMicroseconds: UInt32 = 10_000_000
    /// After SIGTERM: keep serving (health NOT_SERVING) this long so load balancers notice.
    public var drainDelayMilliseconds = 5_000
    /// After SIGTERM: exit at the latest this long after the drain delay, even with work in flight.
    public var drainGraceMilliseconds = 20_000
    /// GRU, SASRec and NARM models: MiB of each model's state cache, shared by every worker (0: none).
    public var stateCacheMegabytes = StateCacheSettings.defaultMegabytes
    /// Seconds a session's stored state is kept without being used.
    public var stateCacheIdleSeconds = StateCacheSettings.defaultIdleSeconds
    /// A connection older than this gets GOAWAY OK (after a jitter of ±10 %), so long-lived gateway
    /// connections spread again after replicas are added (docs/DEPLOY.md). 0 = no limit.
    public var maxConnectionAgeSeconds = 0
    /// When set, HELLO must carry exactly these bytes (docs/PROTOCOL.md §7.1); nil = no authentication.
    public var authToken: [UInt8]?
    /// A model repository, DIR/<name>/<version>/model.seqrec (docs/OPERATIONS.md §11.2); nil = `models`.
    public var modelRepository: String?
    /// Which versions of each repository model are served (absent: `latest`).
    public var versionPolicies: [String: VersionPolicy] = [:]
    /// Rescan the repository every this many seconds (0 = only on request: admin call or SIGHUP).
    public var repositoryPollSeconds = 0
    /// Where state that must survive a restart is written (docs/OPERATIONS.md §10): traffic splits and
    /// default versions (the model lifecycle), journalled catalogue updates. Created when missing;
    /// nil = nothing persists (a restart starts from the model files and the defaults).
    public var stateDirectory: String?
    /// Item-attribute files by model name (`--item-attributes NAME=FILE`, ItemCatalogues.swift).
    public var itemAttributes: [ItemAttributeSource] = []
    /// Per model name, whether a request that does not say (no FALLBACK option, no JSON `fallback`)
    /// gets the popularity fallback (`--fallback NAME=popular|off`); absent = off.
    public var fallbackDefaults: [String: Bool] = [:]

    public init() {}

    /// One thread is left to the event loop when the machine has more than one core.
    public static var defaultWorkerCount: Int {
        max(1, ProcessResources.processorCount - 1)
    }

    /// The models to load: the configured ones, or else `Models/default.seqrec`, or else the only
    /// `.seqrec` file in `Models/`.
    public func resolvedModels(fileExists: (String) -> Bool, listDirectory: (String) -> [String]) throws(ServerCommandError)
        -> [ModelSource]
    {
        if !models.isEmpty { return models }
        if fileExists(Self.defaultModelPath) { return [ModelSource(path: Self.defaultModelPath)] }
        let candidates = listDirectory(Self.defaultModelDirectory).filter { $0.hasSuffix(".seqrec") }.sorted()
        guard candidates.count == 1 else {
            let found = candidates.isEmpty ? "none" : candidates.joined(separator: ", ")
            throw ServerCommandError(message: "no --model given and \(Self.defaultModelPath) does not exist "
                + "(.seqrec files in \(Self.defaultModelDirectory)/: \(found)); pass --model FILE")
        }
        return [ModelSource(path: Self.defaultModelDirectory + "/" + candidates[0])]
    }

    /// Checks that every limit is in a usable range; the message names the flag.
    public func validate() throws(ServerCommandError) {
        func require(_ condition: Bool, _ message: String) throws(ServerCommandError) {
            if !condition { throw ServerCommandError(message: message) }
        }
        try require((1...256).contains(workers), "--workers must be 1...256, got \(workers)")
        try require((1...1_024).contains(maxBatch), "--max-batch must be 1...1024, got \(maxBatch)")
        try require((0...10_000_000).contains(maxDelayMicroseconds), "--max-delay-us must be 0...10000000, got \(maxDelayMicroseconds)")
        try require((1...100_000).contains(maxQueue), "--max-queue must be 1...100000, got \(maxQueue)")
        try require((1...1_000_000).contains(maxConnections), "--max-connections must be 1...1000000, got \(maxConnections)")
        try require((1...65_536).contains(maxInflightPerConnection), "--max-inflight must be 1...65536, got \(maxInflightPerConnection)")
        try require((1_024...(1 << 30)).contains(maxFrameLength), "--max-frame must be 1024...1073741824, got \(maxFrameLength)")
        try require(maxOutputBytes >= maxFrameLength, "--max-output must be at least --max-frame")
        // Durations become nanoseconds in UInt64: 2³¹ ms (24.8 days) keeps every sum far from overflow.
        let longest = Int(Int32.max)
        try require((1...longest).contains(frameReadTimeoutMilliseconds),
                    "--frame-timeout-ms must be 1...\(longest), got \(frameReadTimeoutMilliseconds)")
        try require((1...longest).contains(idleTimeoutMilliseconds),
                    "--idle-timeout-ms must be 1...\(longest), got \(idleTimeoutMilliseconds)")
        try require(defaultTimeoutMicroseconds >= 1 && defaultTimeoutMicroseconds <= maxTimeoutMicroseconds,
                    "--default-timeout-us must be 1...--max-timeout-us")
        try require((0...longest).contains(drainDelayMilliseconds),
                    "--drain-delay-ms must be 0...\(longest), got \(drainDelayMilliseconds)")
        try require((0...longest).contains(drainGraceMilliseconds),
                    "--drain-grace-ms must be 0...\(longest), got \(drainGraceMilliseconds)")
        try require(modelRepository == nil || models.isEmpty,
                    "--model and --model-repository exclude each other: serve files or a repository, not both")
        try require(modelRepository.map { !$0.isEmpty } ?? true, "--model-repository needs a directory path")
        try require(versionPolicies.isEmpty || modelRepository != nil,
                    "--version-policy applies to --model-repository models; give --model-repository DIR")
        try require((0...86_400).contains(repositoryPollSeconds),
                    "--repository-poll-s must be 0...86400, got \(repositoryPollSeconds)")
        try require(repositoryPollSeconds == 0 || modelRepository != nil,
                    "--repository-poll-s needs --model-repository DIR")
        for (index, source) in itemAttributes.enumerated() where itemAttributes[..<index].contains(where: { $0.name == source.name }) {
            throw ServerCommandError(message: "--item-attributes gives model '\(source.name)' twice; one file per model")
        }
        if let directory = stateDirectory {
            try require(!directory.isEmpty, "--state-dir needs a directory path, got an empty one")
        }
        try require((0...2_000_000).contains(maxConnectionAgeSeconds),
                    "--max-connection-age-s must be 0...2000000 (0 = no limit), got \(maxConnectionAgeSeconds)")
        try require(StateCacheSettings.megabyteRange.contains(stateCacheMegabytes),
                    "--state-cache-mb must be 0...\(StateCacheSettings.megabyteRange.upperBound), got \(stateCacheMegabytes)")
        try require(StateCacheSettings.idleSecondsRange.contains(stateCacheIdleSeconds),
                    "--state-cache-idle-s must be 1...\(StateCacheSettings.idleSecondsRange.upperBound), got \(stateCacheIdleSeconds)")
        if let scanThreads {
            try require((1...ScanThreads.maxCount).contains(scanThreads),
                        "--scan-threads must be 1...\(ScanThreads.maxCount), got \(scanThreads)")
        }
        if let token = authToken {
            try require((1...ProtocolLimits.maxAuthTokenBytes).contains(token.count),
                        "the auth token must be 1...\(ProtocolLimits.maxAuthTokenBytes) bytes, got \(token.count)")
        }
    }
}
