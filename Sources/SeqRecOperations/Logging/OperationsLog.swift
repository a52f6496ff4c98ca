// Structured logs (docs/OPERATIONS.md §8): one line per event on stderr, either a JSON object
// (`ts`, `level`, `event`, then the event's fields) or `ts level event key=value ...` text. Fields
// are scalars named by the caller: there is no way to pass a session, a key or a token as a
// field, which is how logs stay free of shoppers' data.
import Foundation
import SeqRecJSON
import Synchronization

public enum LogFormat: String, Sendable, CaseIterable {
    case json, text
}

public enum LogLevel: String, Sendable {
    case info, warning, error
}

/// A field value: only scalars.
public enum LogValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}

public final class OperationsLog: Sendable {
    public let format: LogFormat
    private let sink: @Sendable (String) -> Void
    private let clock: @Sendable () -> Double
    private let lock = Mutex<Void>(())

    /// `sink` receives each line with its newline (stderr by default); `clock` gives Unix seconds.
    public init(format: LogFormat, sink: (@Sendable (String) -> Void)? = nil, clock: (@Sendable () -> Double)? = nil) {
        self.format = format
        self.sink = sink ?? { line in FileHandle.standardError.write(Data(line.utf8)) }
        self.clock = clock ?? { Date().timeIntervalSince1970 }
    }

    public func log(_ level: LogLevel, _ event: String, _ fields: [(String, LogValue)] = []) {
        let line = Self.render(format: format, time: clock(), level: level, event: event, fields: fields)
        // One writer at a time, so lines from different threads never interleave.
        lock.withLock { _ in sink(line) }
    }

    static func render(format: LogFormat, time: Double, level: LogLevel, event: String, fields: [(String, LogValue)]) -> String {
        let timestamp = iso8601(time)
        switch format {
        case .json:
            var out = "{\"ts\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\",\"event\":" + JSONWriter.quoted(event)
            for (key, value) in fields {
                out += "," + JSONWriter.quoted(key) + ":"
                switch value {
                case .string(let text): out += JSONWriter.quoted(text)
                case .int(let number): out += String(number)
                case .double(let number): out += number.isFinite ? "\(number)" : "null"
                case .bool(let flag): out += flag ? "true" : "false"
                }
            }
            return out + "}\n"
        case .text:
            var out = "\(timestamp) \(level.rawValue) \(event)"
            for (key, value) in fields {
                out += " \(key)="
                switch value {
                case .string(let text):
                    let plain = !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0.value != 0x7F }
                    out += plain ? text : JSONWriter.quoted(text)
                case .int(let number): out += String(number)
                case .double(let number): out += "\(number)"
                case .bool(let flag): out += flag ? "true" : "false"
                }
            }
            return out + "\n"
        }
    }

    /// RFC 3339 UTC with milliseconds, e.g. 2026-12-02T06:00:38.123Z.
    static func iso8601(_ time: Double) -> String {
        var seconds = time_t(time.rounded(.down))
        let milliseconds = Int((time - Double(seconds)) * 1_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(min(999, milliseconds)), 3))Z"
    }
}
