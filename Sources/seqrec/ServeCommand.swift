// `seqrec serve`: the process-wide settings a server needs are made here, in the executable, never
// in library code: the open-file limit and the SIGTERM/SIGINT dispositions that start the drain.
// The operations surface (docs/OPERATIONS.md) is wired here too: config file and operations flags,
// structured logs, the admin port, and systemd notifications.
import Dispatch
import Foundation
import Glibc
import SeqRecOperations
import SeqRecPosix
import SeqRecServer

enum ServeCommand {
    /// `seqrec serve ARGUMENTS`: serves until SIGTERM/SIGINT has drained the server, or prints the
    /// effective settings (`--print-config`). Errors (bad flag or config key, bad model file, port in
    /// use) are thrown before the ready line.
    static func run(arguments: [String]) throws {
        let prepared: ServeArguments.Prepared
        do {
            prepared = try ServeArguments.prepare(arguments: arguments, serverUsage: ServerCommand.usage) { path in
                FileManager.default.contents(atPath: path).map { [UInt8]($0) }
            }
        } catch {
            throw ServerCommandError(message: error.message)
        }
        let configuration: ServerConfiguration
        do {
            configuration = try ServerCommand.parse(arguments: prepared.serverArguments)
        } catch {
            // (A `catch … where` clause here sends swiftc 6.3's AllocBoxToStack pass into a near-endless loop.)
            guard error.isHelpRequest else { throw error }
            throw ServerCommandError(message: error.message + "\n" + OperationsOptions.usage, isHelpRequest: true)
        }
        let settings: [String: JSONValue] = configuration.settings(tokenFile: tokenFile(prepared))
        if prepared.printConfig {
            let effective: [String: JSONValue] = ServeArguments.effectiveSettings(prepared, server: settings)
            print(ServeArguments.renderSettings(effective), terminator: "")
            return
        }
        var kernels = "auto"
        if case .string(let name)? = settings["kernels"] { kernels = name }
        let runtime = OperationsRuntime(options: prepared.operations.resolved(serverPort: configuration.port), environment: ProcessInfo.processInfo.environment,
                                        build: BuildInfo(version: buildVersion, kernels: kernels))
        do {
            try serve(configuration, runtime: runtime)
        } catch {
            guard runtime.options.logFormat == .json else { throw error }
            // Keep stderr machine-readable: the error becomes one JSON line.
            runtime.configError("\(error)")
            exit(1)
        }
    }

    /// The --auth-token-file path as given (the configuration keeps only the token).
    private static func tokenFile(_ prepared: ServeArguments.Prepared) -> String? {
        guard case .string(let path)? = prepared.serverSettings["auth-token-file"] else { return nil }
        return path
    }

    /// The version `seqrec_build_info` and the start line report.
    static let buildVersion = "dev"

    private static func serve(_ configuration: ServerConfiguration, runtime: OperationsRuntime) throws {
        let descriptors = ProcessResources.raiseOpenFileLimit()
        let server = try Server.load(configuration: configuration)
        let services = try server.attach(runtime)
        for model in server.modelMetrics { runtime.modelLoaded(model) }
        let adminPort = try runtime.startAdmin(services: services, token: configuration.authToken)
        defer { runtime.stopAdmin() }
        runtime.started(port: server.port, adminPort: adminPort, workers: configuration.workers,
                        kernels: runtime.build.kernels)
        let delay = configuration.drainDelayMilliseconds
        let grace = configuration.drainGraceMilliseconds
        let json = runtime.options.logFormat == .json
        let signals = SignalDrain { number in
            server.drain()
            runtime.draining(signal: number, delayMilliseconds: delay, graceMilliseconds: grace)
            if !json {
                printLine("seqrec serve: signal \(number): draining (health NOT_SERVING, GOAWAY in \(delay) ms, "
                    + "exit at the latest \(grace) ms later; a second signal stops at once)")
            }
        }
        defer { withExtendedLifetime(signals) {} }
        printLine(server.readyLine)
        runtime.ready(port: server.port, adminPort: adminPort, models: server.backends.map(\.info.name))
        if descriptors < UInt64(configuration.maxConnections) + 64 {
            let message: String = "only \(descriptors) open files allowed; --max-connections "
                + "\(configuration.maxConnections) cannot all be accepted (raise ulimit -n)"
            runtime.log.log(.warning, "config_warning", [("message", LogValue.string(message))])
        }
        try server.run()
        printLine(server.stoppedLine)
        let statistics: ServerStatistics = server.statistics
        var fields: [(String, LogValue)] = []
        fields.append(("answered", LogValue.int(statistics.answeredRequests)))
        fields.append(("rejected_overload", LogValue.int(statistics.rejectedOverload)))
        fields.append(("expired_in_queue", LogValue.int(statistics.expiredInQueue)))
        fields.append(("abandoned", LogValue.int(statistics.abandonedAtStop)))
        fields.append(("state_cache_hits", LogValue.int(statistics.stateCacheHits)))
        fields.append(("state_cache_lookups", LogValue.int(statistics.stateCacheLookups)))
        runtime.stopped(fields)
    }

    /// Writes a line to stdout at once, even when stdout is a pipe (tests and supervisors wait for it).
    private static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Routes SIGTERM and SIGINT to `handler` until released. Dispatch signal sources run the handler on
/// a normal thread, so it may do more than async-signal-safe calls.
private final class SignalDrain {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        sources = [SIGTERM, SIGINT].map { number in
            // The default action would kill the process before the drain could run.
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
        // Back to the default actions, so the process can be interrupted again afterwards.
        for number in [SIGTERM, SIGINT] { signal(number, SIG_DFL) }
    }
}
