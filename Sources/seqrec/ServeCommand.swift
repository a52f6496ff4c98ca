// `seqrec serve`: the process-wide settings a server needs are made here, in the executable, never
// in library code: the open-file limit and the SIGTERM/SIGINT dispositions that start the drain.
// The operations surface (docs/OPERATIONS.md) is wired here too: config file and operations flags,
// structured logs, the admin port, and systemd notifications.
import Dispatch
import Foundation
import Glibc
import SeqRecCore
import SeqRecJSON
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
        var configuration: ServerConfiguration
        do {
            configuration = try ServerCommand.parse(arguments: prepared.serverArguments)
        } catch {
            // (A `catch … where` clause here sends swiftc 6.3's AllocBoxToStack pass into a near-endless loop.)
            guard error.isHelpRequest else { throw error }
            throw ServerCommandError(message: error.message + "\n" + OperationsOptions.usage, isHelpRequest: true)
        }
        // The environment is read here, in the executable, never by the library (SEQREC_KERNELS only when
        // --kernels is not given).
        configuration.kernels = try configuration.kernels ?? KernelSelection.fromEnvironment()
        configuration.tableMemory = try TableMemory.fromEnvironment()
        configuration.scanTable = try ScanTablePolicy.fromEnvironment()
        configuration.scanThreads = try configuration.scanThreads ?? ScanThreads.countFromEnvironment()
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
        server.logStartupReport()
        let adminPort = try runtime.startAdmin(services: services, token: configuration.authToken)
        defer { runtime.stopAdmin() }
        let agent = try runtime.options.agentPort.map { port in
            try AgentCheckListener(host: runtime.options.adminHost, port: port) { [services] in services.readiness() }
        }
        agent?.start()
        defer { agent?.stop() }
        if let agent { runtime.log.log(.info, "agent_check_listening", [("port", LogValue.int(Int(agent.port)))]) }
        runtime.started(port: server.port, adminPort: adminPort, workers: configuration.workers,
                        kernels: runtime.build.kernels)
        let delay = configuration.drainDelayMilliseconds
        let grace = configuration.drainGraceMilliseconds
        let json = runtime.options.logFormat == .json
        try SignalDrain.route { number in
            if number == SIGHUP {
                // Reload the repository (docs/OPERATIONS.md §11.3); the reload logs what it did.
                runtime.log.log(.info, "reload_requested", [("signal", .int(Int(number)))])
                server.requestReload()
                return
            }
            server.drain()
            runtime.draining(signal: number, delayMilliseconds: delay, graceMilliseconds: grace)
            if !json {
                printLine("seqrec serve: signal \(number): draining (health NOT_SERVING, GOAWAY in \(delay) ms, "
                    + "exit at the latest \(grace) ms later; a second signal stops at once)")
            }
        }
        printLine(server.readyLine)
        runtime.ready(port: server.port, adminPort: adminPort, models: server.backends.map(\.info.name).reduce(into: []) { if !$0.contains($1) { $0.append($1) } })
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

/// Routes SIGTERM, SIGINT and SIGHUP to a handler on a thread of its own, with the self-pipe pattern: the
/// signal handler (installed synchronously, before the ready line) only writes the signal's number to a
/// pipe, which is async-signal-safe in whichever thread the kernel picks (OpenBLAS starts threads
/// before `main`, so the signals cannot be blocked everywhere); the routing thread reads the pipe and
/// runs the drain. (A Dispatch signal source registers asynchronously after `resume()`, so a SIGTERM
/// sent right after the ready line could be lost and the drain never started.)
private enum SignalDrain {
    /// The pipe's write end, read by the signal handler. Written once, before the handler is installed.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    /// Calls `handler` with each SIGTERM/SIGINT/SIGHUP for the rest of the process's life.
    static func route(to handler: @escaping @Sendable (Int32) -> Void) throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw ServerCommandError(message: "seqrec serve: cannot create the signal pipe (errno \(errno))") }
        let readEnd = ends[0]
        writeEnd = ends[1]
        let thread = Thread {
            var number: UInt8 = 0
            while true {
                let count = read(readEnd, &number, 1)
                if count == 1 { handler(Int32(number)) } else if count < 0 && errno == EINTR { continue } else { return }
            }
        }
        thread.name = "seqrec-signals"
        thread.start()
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                let saved = errno
                _ = write(SignalDrain.writeEnd, &byte, 1)
                errno = saved
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signalNumber, &action, nil)
        }
    }
}
