// The end-to-end launcher: a real `seqrec serve` child process of the same build as the test bundle,
// its stderr (the JSON log lines with --log-format json) and stdout collected as they arrive.
import Foundation

/// A `seqrec serve` child process, started in the package root (so `Models/…` paths work).
public final class ServeProcess: @unchecked Sendable {
    public let process = Process()
    private let lock = NSLock()
    // Guarded by `lock`: appended on the pipes' handler threads.
    private var errorText = ""
    private var outputText = ""
    private var openPipes = 2

    public init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: PackagePaths.seqrecExecutable)
        process.arguments = ["serve"] + arguments
        process.currentDirectoryURL = PackagePaths.root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        err.fileHandleForReading.readabilityHandler = { [self] handle in collect(handle, into: \.errorText) }
        out.fileHandleForReading.readabilityHandler = { [self] handle in collect(handle, into: \.outputText) }
        try process.run()
    }

    private func collect(_ handle: FileHandle, into text: ReferenceWritableKeyPath<ServeProcess, String>) {
        let data = handle.availableData
        lock.lock(); defer { lock.unlock() }
        if data.isEmpty {   // end of file: the child closed its end (it exited)
            handle.readabilityHandler = nil
            openPipes -= 1
        } else {
            self[keyPath: text] += String(decoding: data, as: UTF8.self)
        }
    }

    public var stderrLines: [String] { lock.lock(); defer { lock.unlock() }; return errorText.split(separator: "\n").map(String.init) }
    public var stdout: String { lock.lock(); defer { lock.unlock() }; return outputText }

    /// Every JSON log line logged so far with `"event": name`.
    public func events(_ name: String) -> [[String: Any]] {
        stderrLines.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["event"] as? String == name else { return nil }
            return object
        }
    }

    /// Waits until at least `count` lines of `event` were logged, the process ended, or `seconds` passed;
    /// returns the lines logged by then.
    public func waitFor(_ name: String, count: Int = 1, seconds: Double = 60) -> [[String: Any]] {
        let end = Date().addingTimeInterval(seconds)
        while events(name).count < count, process.isRunning, Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        return events(name)
    }

    /// The first JSON log line with `event`, waiting up to `seconds` (nil when it never came).
    public func event(_ name: String, seconds: Double = 60) -> [String: Any]? {
        waitFor(name, seconds: seconds).first
    }

    /// (binary port, admin port) from the JSON `ready` line; nil when the server never got ready.
    public func ports(seconds: Double = 60) -> (port: UInt16, admin: UInt16)? {
        guard let ready = event("ready", seconds: seconds), let port = ready["port"] as? Int,
              let admin = ready["admin_port"] as? Int else { return nil }
        return (UInt16(port), UInt16(admin))
    }

    /// Waits until stdout contains `text` (the text log format's "ready on"), the process ended, or
    /// `seconds` passed; whether it came.
    public func waitForStdout(containing text: String, seconds: Double = 60) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while !stdout.contains(text), process.isRunning, Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        return stdout.contains(text)
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the exit and then, up to 10 s, for the last output to be collected, so what the
    /// process printed before it exited is in `stdout` and `stderrLines`.
    public func waitUntilExit() {
        process.waitUntilExit()
        let end = Date().addingTimeInterval(10)
        while Date() < end, (lock.withLock { openPipes } > 0) { Thread.sleep(forTimeInterval: 0.01) }
    }

    /// SIGINT (a graceful drain, like Ctrl-C) and waits for the exit.
    public func stop() {
        if process.isRunning { process.interrupt() }
        waitUntilExit()
    }
}
