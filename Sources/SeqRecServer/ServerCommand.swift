// Hand-written argument parsing for `seqrec serve` (no package dependencies).
import Foundation
import SeqRecCore

/// A bad `seqrec serve` command line, or a request for help (print `message`, exit 0).
public struct ServerCommandError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let isHelpRequest: Bool

    public init(message: String, isHelpRequest: Bool = false) {
        self.message = message
        self.isHelpRequest = isHelpRequest
    }

    public var description: String { message }
}

public enum ServerCommand {
    public static let usage = """
        usage: seqrec serve [options]
          --model [NAME=]FILE      serve a .seqrec model (repeatable; the first is the default model;
                                   without --model: \(ServerConfiguration.defaultModelPath), or the only
                                   .seqrec file in \(ServerConfiguration.defaultModelDirectory)/)
          --model-repository DIR   serve DIR/<name>/<version>/model.seqrec (versions: positive integers);
                                   excludes --model; reload with POST /v1/repository/reload or SIGHUP
          --version-policy NAME=POLICY  versions of repository model NAME to serve: latest (default),
                                   latest:N or specific:V,V... (repeatable)
          --repository-poll-s N    rescan the repository every N seconds (default 0: on request only)
          --host ADDRESS           IPv4/IPv6 literal to bind (default 127.0.0.1)
          --port N                 TCP port (default 7878; 0 = any free port)
          --workers N              inference threads (default: cores - 1, at least 1)
          --kernels auto|blas|simd|naive  kernel path (default: $SEQREC_KERNELS, else auto)
          --max-batch N            largest batch per model call (default 64)
          --max-delay-us N         longest wait for a batch to fill while a worker is free (default 0)
          --max-queue N            queued requests before RESOURCE_EXHAUSTED (default 1024)
          --max-connections N      open connections; extra ones are closed at once (default 1024)
          --max-inflight N         requests in flight per connection (default 128)
          --max-frame N            largest frame length in bytes (default 4194304)
          --max-output N           per-connection unsent bytes before disconnect (default 8388608)
          --frame-timeout-ms N     time to receive a whole frame (default 10000)
          --idle-timeout-ms N      close connections idle this long with GOAWAY OK (default 600000)
          --default-timeout-us N   deadline of requests that send 0 (default 1000000)
          --max-timeout-us N       cap on request deadlines (default 10000000)
          --drain-delay-ms N       after SIGTERM, serve this long with health NOT_SERVING (default 5000)
          --drain-grace-ms N       then exit at the latest after this long (default 20000)
          --state-cache-mb N       GRU, SASRec and NARM models: MiB of each model's state cache, shared by
                                   the workers, so a session one item longer than before runs one
                                   step/token (0 = off; default 128)
          --state-cache-idle-s N   a session's state unused this long is not resumed (default 1800)
          --scan-threads N         models with an int8 scan table: threads one request's scan may split
                                   over when idle (1...64; default $SEQREC_SCAN_THREADS, else 1)
          --max-connection-age-s N
                                   GOAWAY OK to connections older than N s ± 10 % jitter, so
                                   connections spread again after scaling (default 0 = never)
          --item-attributes NAME=FILE  item attributes of model NAME: JSONL by external id (repeatable;
                                   docs/OPERATIONS.md "Item attributes"); updates need --state-dir
          --fallback NAME=MODE     model NAME's answer to an empty session when the request does not
                                   say: popular (the popularity fallback) or off (default; repeatable)
          --auth-token-file FILE   require HELLO to carry this file's bytes (one trailing newline
                                   dropped; 1...256 bytes); default: no authentication
          --state-dir DIR          keep state that must survive a restart here (traffic splits, default
                                   versions, catalogue updates; created when missing); default: none
        """

    /// Parses the arguments that follow `serve`.
    public static func parse(arguments: [String]) throws(ServerCommandError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        var models: [ModelSource] = []
        var index = 0

        func value(of flag: String) throws(ServerCommandError) -> String {
            index += 1
            guard index < arguments.count else { throw ServerCommandError(message: "\(flag) needs a value") }
            return arguments[index]
        }
        func integer(of flag: String) throws(ServerCommandError) -> Int {
            let text = try value(of: flag)
            guard let number = Int(text), number >= 0 else {
                throw ServerCommandError(message: "\(flag) needs a non-negative integer, got '\(text)'")
            }
            return number
        }
        func unsigned32(of flag: String) throws(ServerCommandError) -> UInt32 {
            let number = try integer(of: flag)
            guard let narrow = UInt32(exactly: number) else {
                throw ServerCommandError(message: "\(flag) must be at most \(UInt32.max), got \(number)")
            }
            return narrow
        }

        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "-h", "--help": throw ServerCommandError(message: usage, isHelpRequest: true)
            case "--model": models.append(try modelSource(try value(of: flag)))
            case "--host": configuration.host = try value(of: flag)
            case "--port":
                let number = try integer(of: flag)
                guard let port = UInt16(exactly: number) else {
                    throw ServerCommandError(message: "--port must be 0...65535, got \(number)")
                }
                configuration.port = port
            case "--workers": configuration.workers = try integer(of: flag)
            case "--kernels":
                let name = try value(of: flag)
                guard let kernels = KernelSelection(name: name) else {
                    throw ServerCommandError(message: "--kernels must be auto, blas, simd or naive, got '\(name)'")
                }
                configuration.kernels = kernels
            case "--max-batch": configuration.maxBatch = try integer(of: flag)
            case "--max-delay-us": configuration.maxDelayMicroseconds = try integer(of: flag)
            case "--max-queue": configuration.maxQueue = try integer(of: flag)
            case "--max-connections": configuration.maxConnections = try integer(of: flag)
            case "--max-inflight": configuration.maxInflightPerConnection = try integer(of: flag)
            case "--max-frame": configuration.maxFrameLength = try integer(of: flag)
            case "--max-output": configuration.maxOutputBytes = try integer(of: flag)
            case "--frame-timeout-ms": configuration.frameReadTimeoutMilliseconds = try integer(of: flag)
            case "--idle-timeout-ms": configuration.idleTimeoutMilliseconds = try integer(of: flag)
            case "--default-timeout-us": configuration.defaultTimeoutMicroseconds = try unsigned32(of: flag)
            case "--max-timeout-us": configuration.maxTimeoutMicroseconds = try unsigned32(of: flag)
            case "--drain-delay-ms": configuration.drainDelayMilliseconds = try integer(of: flag)
            case "--drain-grace-ms": configuration.drainGraceMilliseconds = try integer(of: flag)
            case "--state-cache-mb": configuration.stateCacheMegabytes = try integer(of: flag)
            case "--state-cache-idle-s": configuration.stateCacheIdleSeconds = try integer(of: flag)
            case "--scan-threads": configuration.scanThreads = try integer(of: flag)
            case "--max-connection-age-s": configuration.maxConnectionAgeSeconds = try integer(of: flag)
            case "--auth-token-file": configuration.authToken = try authToken(path: try value(of: flag))
            case "--state-dir": configuration.stateDirectory = try value(of: flag)
            case "--model-repository": configuration.modelRepository = try value(of: flag)
            case "--version-policy":
                let (name, policy) = try versionPolicy(try value(of: flag))
                configuration.versionPolicies[name] = policy
            case "--repository-poll-s": configuration.repositoryPollSeconds = try integer(of: flag)
            case "--item-attributes":
                let text = try value(of: flag)
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else {
                    throw ServerCommandError(message: "--item-attributes needs NAME=FILE, got '\(text)'")
                }
                configuration.itemAttributes.append(ItemAttributeSource(name: String(text[..<equals]),
                                                                        path: String(text[text.index(after: equals)...])))
            case "--fallback":
                let (name, popular) = try fallbackDefault(try value(of: flag))
                configuration.fallbackDefaults[name] = popular
            default: throw ServerCommandError(message: "unknown option '\(flag)'; `seqrec serve --help` lists the options")
            }
            index += 1
        }
        if !models.isEmpty { configuration.models = models }
        try configuration.validate()
        return configuration
    }

    /// The token file's bytes without one trailing "\n" or "\r\n" (files written by editors end in one).
    private static func authToken(path: String) throws(ServerCommandError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServerCommandError(message: "--auth-token-file: cannot read '\(path)'")
        }
        var token = [UInt8](data)
        if token.last == UInt8(ascii: "\n") { token.removeLast() }
        if token.last == UInt8(ascii: "\r") { token.removeLast() }
        return token
    }

    /// `NAME=popular` or `NAME=off`.
    private static func fallbackDefault(_ text: String) throws(ServerCommandError) -> (String, Bool) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ServerCommandError(message: "--fallback needs NAME=popular or NAME=off, got '\(text.prefix(80))'")
        }
        switch text[text.index(after: equals)...] {
        case "popular": return (String(text[..<equals]), true)
        case "off": return (String(text[..<equals]), false)
        case let mode:
            throw ServerCommandError(message: "--fallback \(text[..<equals].prefix(80)): '\(mode.prefix(40))' is not a mode; use popular or off")
        }
    }

    /// `NAME=POLICY`.
    private static func versionPolicy(_ text: String) throws(ServerCommandError) -> (String, VersionPolicy) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex,
              let policy = VersionPolicy(String(text[text.index(after: equals)...]))
        else {
            throw ServerCommandError(message: "--version-policy needs NAME=latest, NAME=latest:N (N ≥ 1) or "
                + "NAME=specific:V,V... (versions ≥ 1), got '\(text.prefix(80))'")
        }
        return (String(text[..<equals]), policy)
    }

    /// `FILE` or `NAME=FILE`; a path containing '=' can still be given as `NAME=FILE`.
    private static func modelSource(_ text: String) throws(ServerCommandError) -> ModelSource {
        guard let equals = text.firstIndex(of: "=") else { return ModelSource(path: text) }
        let name = String(text[..<equals])
        let path = String(text[text.index(after: equals)...])
        guard !name.isEmpty, !path.isEmpty else {
            throw ServerCommandError(message: "--model needs FILE or NAME=FILE, got '\(text)'")
        }
        return ModelSource(path: path, name: name)
    }
}
