// Time-driven parts of the event loop: the frame-read timeout (slowloris), the idle timeout
// (GOAWAY OK, so long-lived idle connections re-spread over replicas), and the drain sequence
// of docs/PROTOCOL.md §10 (NOT_SERVING → drain delay → GOAWAY → finish in flight → exit by the
// grace limit).
import SeqRecProtocol

extension Server {
    func enforceTimers(now: UInt64) {
        nextTimerScan = now &+ UInt64(pollTimeout()) * 1_000_000
        if let resume = acceptPausedUntil, now >= resume, let listener = listenerFD {
            acceptPausedUntil = nil
            do {
                try loop.register(listener, token: Self.listenerToken)
            } catch {
                acceptPausedUntil = now &+ 100_000_000
            }
        }
        let idleLimit = UInt64(configuration.idleTimeoutMilliseconds) * 1_000_000
        for case let connection? in connections {
            if let deadline = connection.frameDeadline, now >= deadline {
                close(connection)
            } else if connection.phase == .open, connection.frameDeadline == nil, connection.isIdle,
                      now &- connection.lastActivity >= idleLimit {
                let goAway = GoAway(status: .ok, message: "idle for \(configuration.idleTimeoutMilliseconds) ms")
                connection.write { goAway.encodeFrame(requestID: 0, aux: connection.lastRequestID, into: &$0) }
                connection.phase = .goingAway
                scheduleFlush(connection)
            }
        }
    }

    func advanceDrain(now: UInt64) {
        let requested = drainRequests.load(ordering: .sequentiallyConsistent)
        if requested > drainRequestsSeen {
            drainRequestsSeen = requested
            switch drainState {
            case .serving:
                drainState = .delaying(until: now &+ UInt64(configuration.drainDelayMilliseconds) * 1_000_000)
            case .delaying, .draining:
                drainState = .draining(hardStop: now)  // a second signal: stop now
                return
            }
        }
        if case .delaying(let until) = drainState, now >= until {
            beginGoAway(now: now)
        }
    }

    private func beginGoAway(now: UInt64) {
        drainState = .draining(hardStop: now &+ UInt64(configuration.drainGraceMilliseconds) * 1_000_000)
        if let listener = listenerFD {
            loop.unregister(listener)
            System.close(listener)
            listenerFD = nil
        }
        let goAway = GoAway(status: .unavailable, message: "server is shutting down; reconnect for new requests")
        for case let connection? in connections where connection.phase == .open {
            connection.write { goAway.encodeFrame(requestID: 0, aux: connection.lastRequestID, into: &$0) }
            connection.phase = .goingAway
            scheduleFlush(connection)
        }
    }

    /// The grace period is over: whatever is still in flight is lost; count it and close.
    func abandonAll() {
        for case let connection? in connections {
            counters.add(\.abandonedAtStop, connection.inFlight.count)
            close(connection)
        }
    }
}
