// An epoll set whose entries carry 64-bit tokens chosen by the caller. Level-triggered: a
// descriptor stays reported until it is serviced.
import CLinux
import Glibc

/// What a registered descriptor is watched for.
package struct Interest: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let readable = Interest(rawValue: 1)
    package static let writable = Interest(rawValue: 2)
}

/// One ready descriptor.
package struct ReadyEvent: Sendable, Equatable {
    package var token: UInt64
    /// Data, a pending connection, or the peer's end of stream.
    package var readable: Bool
    package var writable: Bool
    /// Error or hang-up: the descriptor is finished (a read reports why).
    package var failed: Bool

    package init(token: UInt64, readable: Bool, writable: Bool, failed: Bool) {
        self.token = token
        self.readable = readable
        self.writable = writable
        self.failed = failed
    }
}

package final class Poller {
    private let descriptor: Int32
    // safe: allocated for `capacity` events in init, freed in deinit; a Poller is used by one thread.
    private let events: UnsafeMutableBufferPointer<epoll_event>

    package init(capacity: Int = 256) throws(SystemError) {
        descriptor = try Retry.call("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        events = .allocate(capacity: max(1, capacity))
        events.initialize(repeating: epoll_event())
    }

    deinit {
        events.deallocate()
        _ = Glibc.close(descriptor)
    }

    package func add(_ fd: Int32, _ interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_ADD, fd, interest, token: token)
    }

    package func modify(_ fd: Int32, _ interest: Interest, token: UInt64) throws(SystemError) {
        try control(EPOLL_CTL_MOD, fd, interest, token: token)
    }

    /// Stops watching `fd`; a descriptor about to be closed leaves the set anyway, so failure is ignored.
    package func remove(_ fd: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(descriptor, EPOLL_CTL_DEL, fd, &event)
    }

    private func control(_ operation: Int32, _ fd: Int32, _ interest: Interest, token: UInt64) throws(SystemError) {
        var event = epoll_event()
        var mask: UInt32 = 0
        if interest.contains(.readable) { mask |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if interest.contains(.writable) { mask |= EPOLLOUT.rawValue }
        event.events = mask
        event.data.u64 = token
        let epoll = descriptor
        _ = try Retry.call("epoll_ctl") { epoll_ctl(epoll, operation, fd, &event) }
    }

    /// Waits up to `timeoutMilliseconds` (-1: no limit, 0: just look) and calls `handle` for each
    /// ready descriptor; returns how many there were. An interrupted wait is an empty round.
    @discardableResult
    package func wait(timeoutMilliseconds: Int32, _ handle: (ReadyEvent) throws -> Void) rethrows -> Int {
        let count = epoll_wait(descriptor, events.baseAddress, Int32(events.count), timeoutMilliseconds)
        // epoll_wait fails only with EINTR or for a bad descriptor/buffer, which this type rules out.
        guard count > 0 else { return 0 }
        for index in 0..<Int(count) {
            let event = events[index]
            let flags = event.events
            try handle(ReadyEvent(
                token: event.data.u64,
                readable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                writable: flags & EPOLLOUT.rawValue != 0,
                failed: flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0))
        }
        return Int(count)
    }
}
