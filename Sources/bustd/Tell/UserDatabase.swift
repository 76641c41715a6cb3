import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// User and group names from systemd's userdb where it runs (it answers
/// for LDAP, sssd, homed...), then from /etc/passwd and /etc/group, read
/// directly: the release daemon is linked statically, and a static glibc
/// cannot load the NSS modules getpwuid(3) would need.
enum UserDatabase {
    /// The login name of uid, or nil (unknown, userdb too slow, or the
    /// file unreadable). May take up to UserDatabaseSocket.timeoutMs: call
    /// it through UserNameCache, off the kill path.
    static func userName(uid: UInt32, userdb: String = UserDatabaseSocket.path, passwd: String = "/etc/passwd") -> String? {
        if let name = askUserdb(.user(uid: uid), path: userdb) { return name.name }
        return field(0, inLineWhere: 2, equals: uid, file: passwd)
    }

    /// The gid of a group: a number is taken as the gid itself (as
    /// chown(1) does), a name is looked up in userdb, then /etc/group.
    static func groupID(named name: String, userdb: String = UserDatabaseSocket.path, group: String = "/etc/group") -> UInt32? {
        if let gid = numericID(name) { return gid }
        if let found = askUserdb(.groupNamed(name), path: userdb) { return found.id }
        guard let bytes = readEntireFile(group) else { return nil }
        let wanted = Array(name.utf8)
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            if fields.count >= 3, Array(fields[0]) == wanted, let gid = parseLeadingInteger(fields[2]), gid >= 0 {
                return UInt32(truncatingIfNeeded: gid)
            }
        }
        return nil
    }

    /// The primary and supplementary gids of a running process, from
    /// /proc/PID/status (SO_PEERCRED gives the primary gid only).
    static func groups(ofProcess pid: Int32, proc: ProcDirectory) -> [UInt32] {
        guard let status = proc.readBytes(pid: pid, "status") else { return [] }
        var gids: [UInt32] = []
        for line in status.split(separator: 0x0A) {
            let isGid = line.starts(with: "Gid:".utf8)
            guard isGid || line.starts(with: "Groups:".utf8) else { continue }
            let values = line.dropFirst(isGid ? 4 : 7).split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
            for value in isGid ? Array(values.prefix(1)) : values {
                if let gid = parseLeadingInteger(value), gid >= 0 { gids.append(UInt32(truncatingIfNeeded: gid)) }
            }
        }
        return gids
    }

    /// A decimal id within UInt32 ("4242"), or nil for anything else.
    static func numericID(_ text: String) -> UInt32? {
        guard !text.isEmpty, text.utf8.count <= 10, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt32(text)
    }

    /// userdb's record, when it has one; failures go to the verbose log
    /// (the caller falls back to the files).
    private static func askUserdb(_ query: UserRecordQuery, path: String) -> (name: String, id: UInt32)? {
        switch UserDatabaseSocket.ask(query, path: path) {
        case .found(let name, let id)?: return (name, id)
        case .failed(let why)?:
            if Log.verbose { Log.debug("userdb lookup failed: \(why)") }
            return nil
        case .noRecord?, nil: return nil
        }
    }

    private static func field(_ index: Int, inLineWhere keyField: Int, equals key: UInt32, file: String) -> String? {
        guard let bytes = readEntireFile(file) else { return nil }
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard fields.count > max(index, keyField), let value = parseLeadingInteger(fields[keyField]),
                value == Int(key)
            else { continue }
            return String(decoding: fields[index], as: UTF8.self)
        }
        return nil
    }
}
