import Foundation

/// A stand-in for journald's native socket: binds an AF_UNIX datagram
/// socket in a temporary directory and keeps every datagram it receives,
/// decoded into fields.
final class JournalRecorder {
    let path: String
    private let directory: String
    private let inbox: Inbox

    /// What the reader thread shares with the test: it holds the inbox
    /// (not the recorder), stops when told, and closes the socket then.
    private final class Inbox: @unchecked Sendable {
        let fd: Int32
        let lock = NSLock()
        var received: [[UInt8]] = []
        var stopping = false
        init(fd: Int32) { self.fd = fd }

        func readLoop() {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while !lock.withLock({ stopping }) {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { lock.withLock { received.append(Array(buffer[0..<count])) } }
            }
            close(fd)
        }
    }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-journal-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/socket"
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            throw HarnessError("bind \(path): \(errno)")
        }
        // Room for a burst of records, and a timeout so the reader can stop.
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let inbox = Inbox(fd: fd)
        self.inbox = inbox
        Thread { inbox.readLoop() }.start()
    }

    deinit {
        inbox.lock.withLock { inbox.stopping = true }
        try? FileManager.default.removeItem(atPath: directory)
    }

    var datagrams: [[UInt8]] { inbox.lock.withLock { inbox.received } }
    var records: [[String: [UInt8]]] { datagrams.compactMap(decodeJournalRecord) }

    /// Waits for a record that passes the test; returns it or throws.
    @discardableResult
    func waitForRecord(timeout: TimeInterval = 15, where test: ([String: [UInt8]]) -> Bool) throws -> [String: [UInt8]] {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let record = records.first(where: test) { return record }
            usleep(20_000)
        } while Date() < deadline
        throw HarnessError("no such journal record within \(timeout) s; got \(records.count): \(records.map(describeJournalRecord))")
    }
}

/// The fields of one native-protocol datagram, either form; nil if it is
/// malformed (a name that is not followed by = or a newline, a length
/// beyond the end, a value not ended by a newline).
func decodeJournalRecord(_ bytes: [UInt8]) -> [String: [UInt8]]? {
    var fields: [String: [UInt8]] = [:]
    var index = 0
    while index < bytes.count {
        guard let end = bytes[index...].firstIndex(where: { $0 == 0x3D || $0 == 0x0A }) else { return nil }
        let name = String(decoding: bytes[index..<end], as: UTF8.self)
        if bytes[end] == 0x3D {
            guard let newline = bytes[(end + 1)...].firstIndex(of: 0x0A) else { return nil }
            fields[name] = Array(bytes[(end + 1)..<newline])
            index = newline + 1
        } else {
            guard end + 9 <= bytes.count else { return nil }
            var length = 0
            for offset in (0..<8).reversed() { length = length << 8 | Int(bytes[end + 1 + offset]) }
            let start = end + 9
            guard length >= 0, start + length < bytes.count, bytes[start + length] == 0x0A else { return nil }
            fields[name] = Array(bytes[start..<(start + length)])
            index = start + length + 1
        }
    }
    return fields
}

func describeJournalRecord(_ record: [String: [UInt8]]) -> String {
    record.keys.sorted().map { "\($0)=\(String(decoding: record[$0]!, as: UTF8.self))" }.joined(separator: " ")
}

extension Dictionary where Key == String, Value == [UInt8] {
    func text(_ name: String) -> String? { self[name].map { String(decoding: $0, as: UTF8.self) } }
}
