// One connection to bustd's event socket: connect without blocking, make
// sure the other end is root before reading a byte, then split what
// arrives into lines.
import CNotifySupport
import Glibc
import Shared

enum ConnectError: Error, Equatable, CustomStringConvertible {
    case unavailable(String)
    /// The socket is served by someone other than root: never talk to it.
    case untrustedPeer(uid: UInt32, pid: Int32)

    var description: String {
        switch self {
        case .unavailable(let why): why
        case .untrustedPeer(let uid, let pid):
            "refusing the event socket: it is served by uid \(uid) (pid \(pid)), not by root; anyone could fake events there"
        }
    }
}

final class EventConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects and checks the server's uid with SO_PEERCRED (the kernel's
    /// record of who called listen(), which the server cannot forge).
    static func open(path: String, requiredServerUID: UInt32 = 0) -> Result<EventConnection, ConnectError> {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return .failure(.unavailable(path + ": path too long")) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.unavailable("socket: " + SystemError(code: errno).description)) }
        let connection = EventConnection(fd: fd)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        // A full backlog gives EAGAIN: a retry later is the answer, not a wait.
        guard status == 0 else {
            return .failure(.unavailable("cannot connect to " + path + ": " + SystemError(code: errno).description))
        }
        var uid: UInt32 = 0
        var pid: Int32 = 0
        let failure = cns_peer_credentials(fd, &uid, &pid)
        guard failure == 0 else {
            return .failure(.unavailable("SO_PEERCRED on " + path + ": " + SystemError(code: failure).description))
        }
        guard uid == requiredServerUID else { return .failure(.untrustedPeer(uid: uid, pid: pid)) }
        return .success(connection)
    }

    enum ReadResult: Equatable {
        case lines([[UInt8]])
        case closed(String)
    }

    /// Reads what is there (call when poll says readable) and returns the
    /// complete lines. A line longer than the protocol allows ends the
    /// connection rather than growing the buffer without bound.
    func readLines() -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return .lines([]) }
            return .closed("reading the event socket: " + SystemError(code: errno).description)
        }
        if count == 0 { return .closed("bustd closed the connection") }
        buffer.append(contentsOf: chunk[0..<count])
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = buffer[start...].firstIndex(of: 0x0A) {
            lines.append(Array(buffer[start..<newline]))
            start = newline + 1
        }
        buffer.removeFirst(start)
        if buffer.count > maxLineBytes { return .closed("bustd sent a line longer than \(maxLineBytes) bytes") }
        return .lines(lines)
    }

    /// Sends one short line (the subscribe request) on the fresh socket,
    /// whose buffer is empty, so it goes out whole or fails.
    func send(_ line: String) -> SystemError? {
        var text = line
        let sent = text.withUTF8 { write(fd, $0.baseAddress, $0.count) }
        if sent < 0 { return SystemError(code: errno) }
        return sent == line.utf8.count ? nil : SystemError(code: EAGAIN)
    }
}
