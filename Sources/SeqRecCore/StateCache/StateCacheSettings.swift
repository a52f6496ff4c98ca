// How big a model's state cache is and how long an idle session's state is kept (docs/OPERATIONS.md,
// "State cache"). One cache per loaded model, shared by every inference context (every server worker).

/// The memory budget and idle time of a model's state cache.
public struct StateCacheSettings: Sendable, Equatable {
    /// Bytes of the cache, its index included; 0 turns the cache off.
    public var budgetBytes: Int
    /// A stored window not used for this long is no longer resumed from.
    public var idleSeconds: Int
    /// Touch the whole budget when the model loads (the server does): the memory is resident from the
    /// start, and no request pays for first-touching a page of it. Off: pages are touched as the cache
    /// fills (in-process users with many short-lived models).
    public var prefault = false

    /// 128 MiB: about 6,000 SASRec sessions of 20 clicks (hidden 64, 2 layers) or 250,000 GRU4Rec
    /// sessions (hidden 64) resumable at once (Benchmarks/RESULTS.md, "state cache").
    public static let defaultMegabytes = 128
    /// Half an hour, the usual web-analytics session timeout.
    public static let defaultIdleSeconds = 1_800
    public static let megabyteRange = 0...65_536
    public static let idleSecondsRange = 1...604_800
    public static let off = StateCacheSettings(budgetBytes: 0)

    public init(megabytes: Int = defaultMegabytes, idleSeconds: Int = defaultIdleSeconds) {
        self.init(budgetBytes: megabytes << 20, idleSeconds: idleSeconds)
    }

    public init(budgetBytes: Int, idleSeconds: Int = defaultIdleSeconds, prefault: Bool = false) {
        self.budgetBytes = budgetBytes
        self.idleSeconds = idleSeconds
        self.prefault = prefault
    }

    public var isEnabled: Bool { budgetBytes > 0 }

    /// Rejects budgets outside 0…64 GiB and idle times outside 1 s…7 days.
    func validate() throws(ModelLoadError) {
        guard (0...(Self.megabyteRange.upperBound << 20)).contains(budgetBytes) else {
            throw ModelLoadError("model load: state cache budget is \(budgetBytes) bytes, expected 0…\(Self.megabyteRange.upperBound) MiB")
        }
        guard Self.idleSecondsRange.contains(idleSeconds) else {
            throw ModelLoadError("model load: state cache idle time is \(idleSeconds) s, expected "
                + "\(Self.idleSecondsRange.lowerBound)…\(Self.idleSecondsRange.upperBound)")
        }
    }
}

/// What a state cache holds and has done since it was made (the server's /metrics reads it when scraped).
public struct StateCacheUsage: Sendable, Equatable {
    /// The budget: ring and index together.
    public var budgetBytes = 0
    /// Bytes of the records that can still be resumed from (headers and padding to 64 bytes included),
    /// superseded ones (windows a session has grown beyond) included until their room is reused.
    public var liveBytes = 0
    public var entries = 0
    /// Records stored.
    public var stores = 0
    /// Records dropped for room before their idle time ran out that no later window of their session
    /// had superseded: states a session could still have resumed from.
    public var evictions = 0
    /// Records dropped after their idle time ran out.
    public var expirations = 0

    public init() {}
}
