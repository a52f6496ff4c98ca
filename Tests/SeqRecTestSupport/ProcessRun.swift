// Running a tool (seqrec, curl, promtool, python3) to completion and collecting what it printed.
import Foundation
import Testing

/// A finished child process: exit status and everything it printed.
public struct ProcessRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    /// Both streams, stdout first.
    public var output: String { stdout + stderr }
}

/// Runs `executable` with `arguments` in `directory` (the package root unless given), writing `input`
/// to its stdin (closed afterwards), and waits for it. Both pipes are drained at once, so a tool that
/// fills one while the other is read cannot stall.
public func runProcess(_ executable: String, _ arguments: [String], input: String? = nil,
                       directory: URL = PackagePaths.root) throws -> ProcessRun {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe(), stdin = Pipe()
    process.standardOutput = out
    process.standardError = err
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let stderrReader = BackgroundReader(err.fileHandleForReading)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = stderrReader.wait()
    process.waitUntilExit()
    return ProcessRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
}

/// Reads a pipe to its end on another thread.
private final class BackgroundReader: @unchecked Sendable {
    private var data = Data()   // written by the reading thread before `done` is signalled, read after
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// An HTTP request with curl to 127.0.0.1:`port`: (HTTP status, body). A POST without a body sends an
/// empty one: the admin port answers a POST without Content-Length 411 (docs/OPERATIONS.md §3).
public func curl(_ port: some BinaryInteger, _ path: String, method: String = "GET", body: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int, String) {
    var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "http://127.0.0.1:\(port)\(path)"]
    if let body = body ?? (method == "POST" ? "" : nil) {
        arguments += ["-H", "Content-Type: application/json", "--data-binary", body]
    }
    let run = try runProcess("/usr/bin/curl", arguments)
    #expect(run.status == 0, "curl failed: \(run.output)", sourceLocation: sourceLocation)
    let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

/// `curl` with a JSON answer decoded to an object (empty when the body is not a JSON object).
public func curlJSON(_ port: some BinaryInteger, _ path: String, method: String = "GET", body: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int, [String: Any]) {
    let (status, text) = try curl(port, path, method: method, body: body, sourceLocation: sourceLocation)
    return (status, ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]) ?? [:])
}

/// Whether curl is installed; the end-to-end suites record an issue naming the fix when it is not.
public func curlIsInstalled(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") else {
        Issue.record("curl is required (apt-get install curl; .ci/run installs it)", sourceLocation: sourceLocation)
        return false
    }
    return true
}
