import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// User and group names from /etc/passwd and /etc/group, read directly:
/// the release daemon is linked statically, and a static glibc cannot load
/// the NSS modules getpwuid(3) would need.
enum UserDatabase {
    /// The login name of uid, or nil (unknown, or the file unreadable).
    static func userName(uid: UInt32, passwd: String = "/etc/passwd") -> String? {
        field(0, inLineWhere: 2, equals: uid, file: passwd)
    }

    /// The gid of a group name, or nil.
    static func groupID(named name: String, group: String = "/etc/group") -> UInt32? {
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
