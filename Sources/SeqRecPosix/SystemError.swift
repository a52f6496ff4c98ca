// The errno boundary of SeqRec: every system call of the server, the client and the load generator
// goes through this target, which reads errno right after the failing call, retries EINTR, and
// turns failures into `SystemError`, so no other target sees errno or a negative return value.
import Glibc

/// A failed system call: which operation, and the errno it left behind.
package struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    package let operation: String
    package let code: Int32

    package init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    package var description: String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

/// Outcome of a read or write on a non-blocking descriptor.
package enum IOResult: Equatable, Sendable {
    case transferred(Int)
    case wouldBlock
    case endOfFile
}

enum Retry {
    /// Calls `body` until it does not fail with EINTR; returns its result or throws with errno.
    static func call<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(operation(), code: code)
        }
    }
}
