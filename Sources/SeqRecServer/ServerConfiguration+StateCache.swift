// The state-cache flags (--state-cache-mb, --state-cache-idle-s) as the engine takes them.
import SeqRecCore

extension ServerConfiguration {
    /// Every loaded model gets a cache of this budget, shared by all workers, resident from the start.
    public var stateCacheSettings: StateCacheSettings {
        StateCacheSettings(budgetBytes: stateCacheMegabytes << 20, idleSeconds: stateCacheIdleSeconds, prefault: true)
    }
}
