import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// `bustd status`'s side of the socket: connect, ask, wait for the answer
/// (skipping the hello and any events meanwhile), all within one deadline,
/// so that a daemon that is gone, stuck or too old to answer ends in an
/// error, never in a hang. Needs no privilege: anyone may connect, and the
/// daemon decides what the asker sees.
enum StatusClient {
    static let timeoutMs: Int64 = 2000

    struct Failure: Error {
        let message: String
    }

    static func ask(path: String, timeoutMs: Int64 = StatusClient.timeoutMs) -> Result<DaemonStatus, Failure> {
        let deadline = bustd_monotonic_ms() + timeoutMs
        var fd: Int32 = -1
        while fd < 0 {
            fd = bustd_connect_unix(path)
            if fd >= 0 { break }
            let error = bustd_errno()
            // A full backlog clears as the daemon accepts: try again.
            guard error == EAGAIN, bustd_monotonic_ms() < deadline else {
                return .failure(
                    Failure(
                        message: "cannot connect to \(quotedArgument(path)): \(errorText(error)) (is bustd running, with this --socket?)"))
            }
            _ = poll(nil, 0, 10)
        }
        defer { close(fd) }
        let noAnswer = Failure(
            message:
                "no answer from bustd on \(quotedArgument(path)) within \(timeoutMs / 1000) s (a bustd older than 0.2.0 does not answer status requests)"
        )
        guard sendAll(Array(encodeStatusRequestLine().utf8), fd: fd, deadline: deadline) else { return .failure(noAnswer) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                switch decodeReply(line) {
                case .success(.status(let status)): return .success(status)
                case .success(.refused(let refusal)):
                    return .failure(
                        Failure(message: "bustd refused the request (\(quoted(refusal.reason))); try again in \(refusal.retryAfterMs) ms"))
                case .success(.other): continue
                case .failure(let error): return .failure(Failure(message: "unreadable answer from bustd: \(error)"))
                }
            }
            guard buffer.count < maxLineBytes else { return .failure(Failure(message: "unreadable answer from bustd: line too long")) }
            guard wait(fd, for: Int16(POLLIN), deadline: deadline) else { return .failure(noAnswer) }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return .failure(Failure(message: "bustd closed the connection without answering")) }
            if count < 0 {
                let error = bustd_errno()
                if error == EAGAIN || error == EINTR { continue }
                return .failure(Failure(message: "cannot read from \(quotedArgument(path)): \(errorText(error))"))
            }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }

    private static func decodeReply(_ line: [UInt8]) -> Result<StatusReply, EventDecodingError> {
        do { return .success(try decodeStatusReply(line: line)) } catch { return .failure(error) }
    }

    private static func sendAll(_ line: [UInt8], fd: Int32, deadline: Int64) -> Bool {
        var offset = 0
        while offset < line.count {
            guard wait(fd, for: Int16(POLLOUT), deadline: deadline) else { return false }
            let count = line.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if count < 0 {
                let error = bustd_errno()
                if error == EAGAIN || error == EINTR { continue }
                return false
            }
            offset += count
        }
        return true
    }

    /// Waits for the socket to be ready, until the deadline.
    private static func wait(_ fd: Int32, for events: Int16, deadline: Int64) -> Bool {
        while true {
            let remaining = deadline - bustd_monotonic_ms()
            if remaining <= 0 { return false }
            var descriptor = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&descriptor, 1, Int32(remaining))
            if ready > 0 { return true }
            if ready < 0 && bustd_errno() != EINTR { return false }
        }
    }
}
