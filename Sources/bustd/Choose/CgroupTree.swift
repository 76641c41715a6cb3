import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// What systemd puts on a unit's cgroup that bustd honours.
enum OomdPreference: Equatable {
    case none
    /// ManagedOOMPreference=avoid (the user.oomd_avoid xattr).
    case avoid
    /// ManagedOOMPreference=omit (user.oomd_omit).
    case omit
}

/// The unified (v2) cgroup file system, read for what a process's cgroup
/// says about it: systemd's OOM preferences, memory.oom.group, its members.
/// Paths come from /proc/PID/cgroup; cgroupfs has no symbolic links, and
/// attributes are read without following any.
struct CgroupTree {
    /// "/sys/fs/cgroup", or "/sys/fs/cgroup/unified" on hybrid systems.
    let mount: String

    /// The unified mount, or nil without one.
    static func find(candidates: [String] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]) -> CgroupTree? {
        for mount in candidates where access(mount + "/cgroup.controllers", R_OK) == 0 {
            return CgroupTree(mount: mount)
        }
        return nil
    }

    func directory(_ path: [UInt8]) -> String { mount + String(decoding: path, as: UTF8.self) }

    /// The unit's own cgroup (its deepest .service or .scope): where
    /// systemd sets its attributes.
    func unitDirectory(of cgroup: CgroupMembership) -> String {
        let parts = cgroup.components
        guard let last = parts.lastIndex(where: { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }) else {
            return directory(cgroup.path)
        }
        var path: [UInt8] = []
        for part in parts[...last] {
            path.append(UInt8(ascii: "/"))
            path.append(contentsOf: part)
        }
        return directory(path)
    }

    /// The unit's preference, and whether it counts only among its own
    /// user's processes. systemd-oomd trusts these attributes on a cgroup
    /// owned by root (set by the system manager), and on one owned by the
    /// user whose tree it is (set by that user's manager, or by the user:
    /// either way the user's own say about their own processes); bustd
    /// does the same, and lets the second kind reorder only that user's
    /// processes, so that no user can push a kill onto someone else.
    func oomdPreference(of cgroup: CgroupMembership, uid: UInt32) -> (OomdPreference, ownersOnly: Bool) {
        let path = unitDirectory(of: cgroup)
        var owner: UInt32 = 0
        var mode: UInt32 = 0
        guard bustd_lstat_owner_mode(path, &owner, &mode) == 0, mode & 0o170000 == 0o040000 else { return (.none, false) }
        guard owner == 0 || owner == uid else { return (.none, false) }
        let preference: OomdPreference =
            bustd_xattr_flag(path, "user.oomd_omit") == 1
            ? .omit
            : bustd_xattr_flag(path, "user.oomd_avoid") == 1 ? .avoid : .none
        return (preference, owner != 0)
    }

    /// Whether no other process is left in the cgroup (its own directory).
    func isLastProcess(_ pid: Int32, of cgroup: CgroupMembership) -> Bool {
        guard let bytes = readEntireFile(directory(cgroup.path) + "/cgroup.procs") else { return false }
        for line in bytes.split(separator: 0x0A) {
            if let other = parseLeadingInteger(line), other != Int(pid) { return false }
        }
        return true
    }

    /// memory.oom.group of the process's cgroup: the kernel kills the whole
    /// group together, and so does bustd.
    func isOOMGroup(_ cgroup: CgroupMembership) -> Bool {
        guard let bytes = readEntireFile(directory(cgroup.path) + "/memory.oom.group") else { return false }
        return parseLeadingInteger(bytes) == 1
    }
}
