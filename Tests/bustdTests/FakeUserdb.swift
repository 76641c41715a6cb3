import Foundation

/// A stand-in for systemd's userdb: a varlink service on an AF_UNIX socket
/// in a fresh root-owned directory, answering GetUserRecord from a table.
/// Serves on a thread of the test process until close().
final class FakeUserdb: @unchecked Sendable {
    enum Behaviour {
        /// Answers users in the table, NoRecordFound for the others.
        case answer([UInt32: String])
        /// Listens but never accepts: connect and send succeed, no reply comes.
        case neverAnswer
        /// Answers every call with these bytes (a NUL is added).
        case raw([UInt8])
    }

    let directory: String
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    init(_ behaviour: Behaviour) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-userdb-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        path = directory + "/io.systemd.Multiplexer"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw HarnessError("cannot serve a fake userdb at \(path)") }
        if case .neverAnswer = behaviour { return }
        let thread = Thread { [self] in
            serve(behaviour)
            finished.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// The requests received so far, without their NUL.
    var requests: [String] { lock.withLock { received } }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))  // wakes the thread's accept
        // Closed only once the thread is done with it: a number closed
        // early could be reused by another test's socket and served here.
        if thread != nil { finished.wait() }
        Glibc.close(fd)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func serve(_ behaviour: Behaviour) {
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 { return }
            var request: [UInt8] = []
            var byte: UInt8 = 0
            while read(connection, &byte, 1) == 1, byte != 0 { request.append(byte) }
            let text = String(decoding: request, as: UTF8.self)
            lock.withLock { received.append(text) }
            var reply: [UInt8]
            switch behaviour {
            case .answer(let table):
                let uid = text.range(of: #"(?<="uid":)\d+"#, options: .regularExpression).flatMap { UInt32(text[$0]) }
                if let uid, let name = table[uid] {
                    reply = Array(
                        #"{"parameters":{"record":{"userName":"\#(name)","uid":\#(uid),"gid":\#(uid),"disposition":"regular","binding":{"x":{"homeDirectory":"/home/\#(name)"}}},"incomplete":false}}"#
                            .utf8)
                } else {
                    reply = Array(#"{"error":"io.systemd.UserDatabase.NoRecordFound","parameters":{}}"#.utf8)
                }
            case .raw(let bytes): reply = bytes
            case .neverAnswer: reply = []
            }
            reply.append(0)
            _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Glibc.close(connection)
        }
    }
}
