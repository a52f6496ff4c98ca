// The state-cache flags (--state-cache-mb, --state-cache-idle-s) as the engine takes them.
import SeqRecCore

extension ServerConfiguration {
    /// Every loaded model gets a cache of this budget, shared by all workers.
    public var stateCacheSettings: StateCacheSettings {
        StateCacheSettings(megabytes: stateCacheMegabytes, idleSeconds: stateCacheIdleSeconds)
    }
}
