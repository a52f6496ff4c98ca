// The epoll instance of the server plus an eventfd that other threads use to wake it (finished
// batches, drain requests). Level-triggered: a descriptor stays reported until it is serviced.
import CLinux

package struct ReadyEvent {
    package var token: UInt64
    package var readable: Bool
    package var writable: Bool
    /// Error or hang-up: the descriptor is finished.
    package var failed: Bool
}

package final class EventLoop: @unchecked Sendable {
    /// Token reserved for the wakeup eventfd.
    package static let wakeToken: UInt64 = .max

    private let epoll: Int32
    private let wakeFD: Int32
    private let capacity = 256
    // safe: allocated for `capacity` events in init, freed in deinit, used only by the loop thread.
    private let events: UnsafeMutableBufferPointer<epoll_event>

    package init() throws(SystemError) {
        epoll = try System.epollCreate()
        do {
            wakeFD = try System.eventCreate()
        } catch {
            System.close(epoll)
            throw error
        }
        events = .allocate(capacity: capacity)
        do {
            try System.epollControl(epoll, EPOLL_CTL_ADD, wakeFD, events: EPOLLIN.rawValue, token: Self.wakeToken)
        } catch {
            events.deallocate()
            System.close(wakeFD)
            System.close(epoll)
            throw error
        }
    }

    deinit {
        events.deallocate()
        System.close(wakeFD)
        System.close(epoll)
    }

    /// Any thread: makes the next (or current) `wait` return.
    package func wake() { System.eventSignal(wakeFD) }

    package func register(_ fd: Int32, token: UInt64, writable: Bool = false) throws(SystemError) {
        try System.epollControl(epoll, EPOLL_CTL_ADD, fd, events: interest(readable: true, writable: writable), token: token)
    }

    package func modify(_ fd: Int32, token: UInt64, readable: Bool, writable: Bool) throws(SystemError) {
        try System.epollControl(epoll, EPOLL_CTL_MOD, fd, events: interest(readable: readable, writable: writable), token: token)
    }

    package func unregister(_ fd: Int32) {
        // A descriptor that is about to be closed leaves the epoll set anyway; failure changes nothing.
        try? System.epollControl(epoll, EPOLL_CTL_DEL, fd, events: 0, token: 0)
    }

    private func interest(readable: Bool, writable: Bool) -> UInt32 {
        var mask: UInt32 = 0
        if readable { mask |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if writable { mask |= EPOLLOUT.rawValue }
        return mask
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) and calls `handle` for each ready descriptor.
    /// The wakeup eventfd is reset and reported with `wakeToken`.
    package func poll(timeoutMilliseconds: Int32, _ handle: (ReadyEvent) -> Void) throws(SystemError) {
        let count = try System.epollWait(epoll, events, timeoutMilliseconds: timeoutMilliseconds)
        for index in 0..<count {
            let event = events[index]
            let token = event.data.u64
            if token == Self.wakeToken { System.eventDrain(wakeFD) }
            let flags = event.events
            handle(ReadyEvent(
                token: token,
                readable: flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0,
                writable: flags & EPOLLOUT.rawValue != 0,
                failed: flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0))
        }
    }
}
