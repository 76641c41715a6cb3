import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif

/// The pid file, locked with flock(2) for as long as bustd runs: a second
/// instance finds the lock taken and refuses to start. A stale file from a
/// crashed instance holds no lock and is simply reused.
final class PidFile {
    let path: String
    private let fd: Int32

    static func lock(_ path: String) -> Result<PidFile, OptionError> {
        let fd = bustd_open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            return .failure(OptionError("cannot open pid file \(quotedArgument(path)): \(errorText(bustd_errno()))"))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let error = bustd_errno()
            var holder = ""
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            if count > 0, let pid = parseLeadingInteger(bytes[0..<count]) { holder = " (pid \(pid))" }
            close(fd)
            if error == EWOULDBLOCK {
                return .failure(OptionError("another bustd is already running\(holder): \(path) is locked"))
            }
            return .failure(OptionError("cannot lock pid file \(quotedArgument(path)): \(errorText(error))"))
        }
        return .success(PidFile(path: path, fd: fd))
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Records the running pid (after daemonizing: the final one).
    func write(pid: Int32) {
        _ = ftruncate(fd, 0)
        let text = Array("\(pid)\n".utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    func remove() {
        unlink(path)
        close(fd)
    }
}
