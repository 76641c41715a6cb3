import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// The pid file, locked with flock(2) for as long as bustd runs: a second
/// instance finds the lock taken and refuses to start. A stale file from a
/// crashed instance holds no lock and is simply reused.
///
/// bustd runs as root, so the file is handled as an attacker would plant
/// it: its directory must belong to bustd's user and be writable by no one
/// else (the rule for the event socket's directory too), a symbolic link
/// at the path is refused (O_NOFOLLOW), and only a regular file that
/// bustd's user owns, with no other name (a hard link), is written to or
/// removed. Nothing is truncated before those checks.
final class PidFile {
    let path: String
    private let fd: Int32
    private let device: UInt64
    private let inode: UInt64

    static func lock(_ path: String) -> Result<PidFile, OptionError> {
        func failure(_ text: String) -> Result<PidFile, OptionError> { .failure(OptionError(text)) }
        let directory = parentDirectory(of: path)
        if mkdir(directory, 0o755) == 0 { _ = chmod(directory, 0o755) }  // /run/bustd without systemd's RuntimeDirectory
        if let problem = checkPrivateDirectory(directory, for: "the pid file") { return failure(problem) }
        let fd = bustd_open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let error = bustd_errno()
            if error == ELOOP { return failure("pid file \(quotedArgument(path)) is a symbolic link; refusing to follow it") }
            return failure("cannot open pid file \(quotedArgument(path)): \(errorText(error))")
        }
        var info = FileIdentity()
        guard bustd_fstat_identity(fd, &info) == 0, info.mode & 0o170000 == 0o100000,
            info.uid == geteuid(), info.links == 1
        else {
            close(fd)
            return failure("pid file \(quotedArgument(path)) is not a regular file of bustd's user with one name; refusing to write to it")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = bustd_errno()
            var holder = ""
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if count > 0, let pid = parseLeadingInteger(bytes[0..<count]) { holder = " (pid \(pid))" }
            close(fd)
            if error == EWOULDBLOCK {
                return failure("another bustd is already running\(holder): \(path) is locked")
            }
            return failure("cannot lock pid file \(quotedArgument(path)): \(errorText(error))")
        }
        return .success(PidFile(path: path, fd: fd, device: info.device, inode: info.inode))
    }

    private init(path: String, fd: Int32, device: UInt64, inode: UInt64) {
        self.path = path
        self.fd = fd
        self.device = device
        self.inode = inode
    }

    /// Records the running pid (after daemonizing: the final one).
    func write(pid: Int32) {
        _ = ftruncate(fd, 0)
        let text = Array("\(pid)\n".utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Removes the file, if the path still names the file bustd locked.
    func remove() {
        var info = FileIdentity()
        if bustd_lstat_identity(path, &info) == 0, info.device == device, info.inode == inode {
            unlink(path)
        }
        close(fd)
    }
}

/// Why bustd, as root, must not create files in directory (nil: it may):
/// it must be a real directory (not a link), owned by bustd's user and
/// writable by no one else, or another user could swap what bustd opens.
func checkPrivateDirectory(_ directory: String, for what: String) -> String? {
    var info = FileIdentity()
    guard bustd_lstat_identity(directory, &info) == 0 else {
        return "cannot use \(quotedArgument(directory)) for \(what): \(errorText(bustd_errno()))"
    }
    guard info.mode & 0o170000 == 0o040000 else {
        return "\(quotedArgument(directory)) is not a directory (a symbolic link?); refusing to put \(what) there"
    }
    guard info.uid == geteuid(), info.mode & 0o022 == 0 else {
        return "\(quotedArgument(directory)) is writable by others or not owned by bustd's user; refusing to put \(what) there"
    }
    return nil
}
