import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// systemd's userdb socket: found, checked, asked with a hard timeout.
enum UserDatabaseSocket {
    static let defaultPath = "/run/systemd/userdb/io.systemd.Multiplexer"
    /// The whole call (connect, send, reply): a slow userdb leaves a name
    /// empty rather than hold the daemon.
    static let timeoutMs: Int32 = 100
    /// Replies longer than this are refused (the event parser's bound).
    static let maxReplyBytes = maxLineBytes

    /// $BUSTD_USERDB_SOCKET when set (the tests' fake userdb; it must pass
    /// the same checks), else systemd's.
    static var path: String {
        if let override = getenv("BUSTD_USERDB_SOCKET"), override.pointee != 0 { return String(cString: override) }
        return defaultPath
    }

    /// The reply to query, or nil when there is no trustworthy socket at
    /// path (no userdb here: the caller reads the files).
    static func ask(_ query: UserRecordQuery, path: String = UserDatabaseSocket.path) -> UserRecordReply? {
        guard isTrusted(path) else { return nil }
        let request = query.request
        var failure: Int32 = 0
        let reply = [UInt8](unsafeUninitializedCapacity: maxReplyBytes) { buffer, count in
            // Only the bytes received are written: a short reply touches
            // one page of the buffer, not all of it.
            let length = request.withUnsafeBytes { requestBytes in
                bustd_varlink_call(
                    path, requestBytes.baseAddress!.assumingMemoryBound(to: CChar.self), requestBytes.count,
                    UnsafeMutableRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self), buffer.count,
                    timeoutMs)
            }
            failure = length < 0 ? bustd_errno() : 0
            count = max(length, 0)
        }
        if failure != 0 { return .failed("userdb at \(quoted(path)): \(errorText(failure))") }
        return parseUserRecordReply(reply, to: query)
    }

    /// Whether path is a socket owned by root whose every directory, from
    /// "/" down, is root's and not a symbolic link: only then did systemd
    /// (or root) put it there, and nobody else can swap it for their own.
    /// A directory writable by others passes only with the sticky bit
    /// (/tmp: they cannot rename what root made in it).
    static func isTrusted(_ path: String) -> Bool {
        guard path.utf8.first == UInt8(ascii: "/") else { return false }
        let components = path.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
        guard let socketName = components.last, directoryIsRoots("/") else { return false }
        var directory = ""
        for component in components.dropLast() {
            directory += "/" + component
            guard directoryIsRoots(directory) else { return false }
        }
        var identity = FileIdentity()
        guard bustd_lstat_identity(directory + "/" + socketName, &identity) == 0 else { return false }
        return identity.uid == 0 && identity.mode & fileTypeMask == socketType
    }

    private static let fileTypeMask: UInt32 = 0o170_000
    private static let directoryType: UInt32 = 0o040_000
    private static let socketType: UInt32 = 0o140_000
    private static let stickyBit: UInt32 = 0o1000
    private static let writableByOthers: UInt32 = 0o022

    private static func directoryIsRoots(_ path: String) -> Bool {
        var identity = FileIdentity()
        guard bustd_lstat_identity(path, &identity) == 0 else { return false }
        return identity.uid == 0 && identity.mode & fileTypeMask == directoryType
            && (identity.mode & writableByOthers == 0 || identity.mode & stickyBit != 0)
    }
}
