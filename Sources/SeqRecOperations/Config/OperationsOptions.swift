// The flags of the operations surface (`seqrec serve --admin-port ...`): parsed here so the
// server's own parser only sees its own flags (docs/OPERATIONS.md §9).

import SeqRecJSON

public struct OperationsOptions: Sendable, Equatable {
    public var adminHost = "127.0.0.1"
    /// nil: `--admin-port off`.
    public var adminPort: UInt16? = 7879
    /// Whether --admin-port (or the config key) was given; when not, a server on --port 0 takes a
    /// free admin port too, so servers started for tests never collide on 7879.
    public private(set) var adminPortGiven = false
    /// HAProxy agent-check port on `adminHost` (AgentCheckListener); nil: off (the default).
    public var agentPort: UInt16?
    public var logFormat = LogFormat.text
    public var logRequests = RequestLogPolicy.off

    public init() {}

    public static let usage = """
          --admin-host ADDRESS     admin HTTP port address (default 127.0.0.1; binding elsewhere without
                                   --auth-token-file prints a warning)
          --admin-port N|off       admin HTTP port: /livez, /readyz, /metrics, /v1/... (default 7879;
                                   0, a free port, when --port is 0)
          --agent-port N|off       HAProxy agent-check port on --admin-host: "ready", or "drain" from
                                   SIGTERM on (default off; 0 = a free port, logged)
          --log-format json|text   log lines on stderr (default text)
          --log-requests off|errors|all|sample:N  per-request log lines (default off)
          --config FILE            JSON settings, one key per flag (flags given here win)
          --print-config           print the effective settings as JSON and exit
        """

    /// Flag name (without dashes) → whether it takes a value.
    static let flags: [String: Bool] = [
        "admin-host": true, "admin-port": true, "agent-port": true, "log-format": true, "log-requests": true,
        "config": true, "print-config": false,
    ]

    /// Applies one flag's value; the message names the flag and what it accepts.
    mutating func apply(_ flag: String, _ value: String) throws(ConfigError) {
        switch flag {
        case "admin-host":
            guard !value.isEmpty else { throw ConfigError("--admin-host needs an IPv4 or IPv6 address") }
            adminHost = value
        case "admin-port":
            adminPortGiven = true
            if value == "off" {
                adminPort = nil
            } else {
                guard let port = UInt16(value) else {
                    throw ConfigError("--admin-port must be 0...65535 or off, got '\(value.prefix(40))'")
                }
                adminPort = port
            }
        case "agent-port":
            if value == "off" {
                agentPort = nil
            } else {
                guard let port = UInt16(value) else {
                    throw ConfigError("--agent-port must be 0...65535 or off, got '\(value.prefix(40))'")
                }
                agentPort = port
            }
        case "log-format":
            guard let format = LogFormat(rawValue: value) else {
                throw ConfigError("--log-format must be json or text, got '\(value.prefix(40))'")
            }
            logFormat = format
        case "log-requests":
            guard let policy = RequestLogPolicy(value) else {
                throw ConfigError("--log-requests must be off, errors, all or sample:N (N ≥ 1), got '\(value.prefix(40))'")
            }
            logRequests = policy
        default:
            break
        }
    }

    /// The effective values, as `--print-config` shows them.
    var settings: [String: JSONValue] {
        [
            "admin-host": .string(adminHost),
            "admin-port": adminPort.map { .int(Int64($0)) } ?? .string("off"),
            "agent-port": agentPort.map { .int(Int64($0)) } ?? .string("off"),
            "log-format": .string(logFormat.rawValue),
            "log-requests": .string(logRequests.name),
        ]
    }

    /// The options a server on `port` runs with: an unset admin port follows `--port 0`.
    public func resolved(serverPort: UInt16) -> OperationsOptions {
        var options = self
        if !adminPortGiven, serverPort == 0, options.adminPort != nil { options.adminPort = 0 }
        return options
    }

    /// Whether binding the admin port at `adminHost` without a token deserves a warning.
    public func isExposedWithoutToken(tokenConfigured: Bool) -> Bool {
        guard adminPort != nil, !tokenConfigured else { return false }
        return !["127.0.0.1", "localhost", "::1"].contains(adminHost) && !adminHost.hasPrefix("127.")
    }
}

/// A bad command line or config file; the message names the flag or key.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
