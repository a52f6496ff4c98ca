// The effective configuration as `seqrec serve --print-config` shows it (docs/OPERATIONS.md §8):
// one key per `seqrec serve` flag (the flag without dashes), each with the value in force. The
// output is itself a valid --config file; the token file's contents are never shown.
import SeqRecCore
import SeqRecJSON
import SeqRecOperations

extension ServerConfiguration {
    /// `tokenFile`: the --auth-token-file path as given (the configuration keeps only the token).
    public func settings(tokenFile: String?) -> [String: JSONValue] {
        func int(_ value: some BinaryInteger) -> JSONValue { .int(Int64(value)) }
        var settings: [String: JSONValue] = [
            "host": .string(host), "port": int(port), "workers": int(workers), "max-batch": int(maxBatch),
            "max-delay-us": int(maxDelayMicroseconds), "max-queue": int(maxQueue),
            "max-connections": int(maxConnections), "max-inflight": int(maxInflightPerConnection),
            "max-frame": int(maxFrameLength), "max-output": int(maxOutputBytes),
            "frame-timeout-ms": int(frameReadTimeoutMilliseconds), "idle-timeout-ms": int(idleTimeoutMilliseconds),
            "default-timeout-us": int(defaultTimeoutMicroseconds), "max-timeout-us": int(maxTimeoutMicroseconds),
            "drain-delay-ms": int(drainDelayMilliseconds), "drain-grace-ms": int(drainGraceMilliseconds),
            "max-connection-age-s": int(maxConnectionAgeSeconds),
            "model": .array(models.map { .string(($0.name.map { "\($0)=" } ?? "") + $0.path) }),
        ]
        if let stateDirectory { settings["state-dir"] = .string(stateDirectory) }
        if !itemAttributes.isEmpty { settings["item-attributes"] = .array(itemAttributes.map { .string("\($0.name)=\($0.path)") }) }
        if !fallbackDefaults.isEmpty {
            settings["fallback"] = .array(fallbackDefaults.keys.sorted().map { .string("\($0)=\(fallbackDefaults[$0]! ? "popular" : "off")") })
        }
        if let modelRepository { settings["model-repository"] = .string(modelRepository) }
        if !versionPolicies.isEmpty {
            settings["version-policy"] = .array(versionPolicies.keys.sorted().map { .string("\($0)=\(versionPolicies[$0]!)") })
        }
        if repositoryPollSeconds > 0 { settings["repository-poll-s"] = int(repositoryPollSeconds) }
        settings["state-cache-mb"] = int(stateCacheMegabytes)
        settings["state-cache-idle-s"] = int(stateCacheIdleSeconds)
        settings["scan-threads"] = int(scanThreads ?? 1)
        if let tokenFile { settings["auth-token-file"] = .string(tokenFile) }
        if let kernels { settings["kernels"] = .string(Self.kernelName(kernels)) }
        return settings
    }

    private static func kernelName(_ selection: KernelSelection) -> String {
        KernelSelection.acceptedNames.first { KernelSelection(name: $0) == selection } ?? "auto"
    }
}
