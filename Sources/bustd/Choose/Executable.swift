import CBustd

/// The program a process runs, judged the way root must judge it: by the
/// file the kernel actually executes (a stat of /proc/PID/exe follows the
/// kernel's own link to that inode, whatever path or name the user gave
/// it), who owns that file, and the directory it lies in.
///
/// A user can copy a system program, link to it under another name, or
/// rename their process, but cannot make a file that root owns and only
/// root may write, in a directory only root may write.
struct Executable: Equatable {
    /// /proc/PID/exe, without a " (deleted)" suffix.
    var path: [UInt8]
    /// The executed file's owner; nil when it cannot be read.
    var ownerUID: UInt32?
    /// Root-owned, writable by root alone, in a system program directory
    /// that root owns and alone may write.
    var isSystemProgram: Bool

    /// Where system programs live. /usr/local is the administrator's.
    static let systemDirectories = [
        "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/", "/usr/lib32/",
        "/usr/libexec/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/usr/local/bin/",
        "/usr/local/sbin/", "/usr/local/lib/",
    ]

    /// The file's last path component ("sshd").
    var name: ArraySlice<UInt8> {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")) else { return path[...] }
        return path[(slash + 1)...]
    }

    static func read(pid: Int32, proc: ProcDirectory) -> Executable? {
        guard let link = proc.readLink(pid: pid, "exe") else { return nil }
        let path = stripDeleted(link)
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        guard bustd_stat_owner_mode(proc.fd, pid, "exe", 1, &uid, &mode) == 0 else {
            return Executable(path: path, ownerUID: nil, isSystemProgram: false)
        }
        let fileIsRoots = uid == 0 && mode & 0o170000 == 0o100000 && mode & 0o022 == 0
        return Executable(path: path, ownerUID: uid, isSystemProgram: fileIsRoots && isInSystemDirectory(path))
    }

    /// In one of the system directories, and its own directory owned by
    /// root and writable by no one else (checked without following a link).
    static func isInSystemDirectory(_ path: [UInt8]) -> Bool {
        guard systemDirectories.contains(where: { path.starts(with: $0.utf8) }),
            !path.contains(0), !containsDotDot(path),
            let slash = path.lastIndex(of: UInt8(ascii: "/"))
        else { return false }
        let directory = String(decoding: path[..<slash], as: UTF8.self)
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        guard bustd_lstat_owner_mode(directory, &uid, &mode) == 0 else { return false }
        return uid == 0 && mode & 0o170000 == 0o040000 && mode & 0o022 == 0
    }

    private static func containsDotDot(_ path: [UInt8]) -> Bool {
        path.split(separator: UInt8(ascii: "/")).contains { $0.elementsEqual("..".utf8) }
    }
}
