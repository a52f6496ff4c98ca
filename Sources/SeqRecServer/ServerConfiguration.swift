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

    /// Kernel path of every model; nil = `SEQREC_KERNELS`, else automatic.
    public var kernels: KernelSelection?
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
    /// GRU and SASRec models: recent windows whose states each worker keeps per model (0: none; nil: the
    /// family's default, see `Recommender.init`).
    public var stateCacheEntries: Int?
    /// When set, HELLO must carry exactly these bytes (docs/PROTOCOL.md §7.1); nil = no authentication.
    public var authToken: [UInt8]?
    /// Where state that must survive a restart is written (docs/OPERATIONS.md §10): traffic splits and
    /// default versions (the model lifecycle), journalled catalogue updates. Created when missing;
    /// nil = nothing persists (a restart starts from the model files and the defaults).
    public var stateDirectory: String?
    /// Item-attribute files by model name (`--item-attributes NAME=FILE`, ItemCatalogues.swift).
    public var itemAttributes: [ItemAttributeSource] = []

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
        if let entries = stateCacheEntries {
            try require((0...(1 << 20)).contains(entries), "--state-cache must be 0...1048576, got \(entries)")
        }
        for (index, source) in itemAttributes.enumerated() where itemAttributes[..<index].contains(where: { $0.name == source.name }) {
            throw ServerCommandError(message: "--item-attributes gives model '\(source.name)' twice; one file per model")
        }
        if let directory = stateDirectory {
            try require(!directory.isEmpty, "--state-dir needs a directory path, got an empty one")
        }
        if let token = authToken {
            try require((1...ProtocolLimits.maxAuthTokenBytes).contains(token.count),
                        "the auth token must be 1...\(ProtocolLimits.maxAuthTokenBytes) bytes, got \(token.count)")
        }
    }
}
