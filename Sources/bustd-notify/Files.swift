// Small whole-file reads and atomic writes with plain syscalls (no Foundation).
import Glibc

struct SystemError: Error, Equatable, CustomStringConvertible {
    var code: Int32
    /// Said instead of strerror's text when errno alone would mislead.
    var kind: String? = nil
    var description: String { kind ?? String(cString: strerror(code)) }
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Reads a regular file of at most `limit` bytes (longer ones are refused
/// with EFBIG). A symbolic link at the path is refused (ELOOP), and so is
/// anything but a regular file (EINVAL): opened without O_NONBLOCK, a FIFO
/// planted at the config path would hang the notifier before it ever
/// started, with nothing said.
func readSmallFile(_ path: String, limit: Int) -> Result<[UInt8], SystemError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
    guard fd >= 0 else {
        return .failure(errno == ELOOP ? SystemError(code: ELOOP, kind: "a symbolic link, not followed") : SystemError(code: errno))
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { return .failure(SystemError(code: errno)) }
    guard info.st_mode & S_IFMT == S_IFREG else { return .failure(SystemError(code: EINVAL, kind: "not a regular file")) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(SystemError(code: errno))
        }
        if count == 0 { return .success(bytes) }
        bytes.append(contentsOf: chunk[0..<count])
        if bytes.count > limit { return .failure(SystemError(code: EFBIG)) }
    }
}

/// Writes through a temporary file and rename, so a reader never sees half.
func writeFileAtomically(_ path: String, _ text: String) -> SystemError? {
    let temporary = path + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return SystemError(code: errno) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if count < 0 {
            if errno == EINTR { continue }
            let error = SystemError(code: errno)
            close(fd)
            unlink(temporary)
            return error
        }
        written += count
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
        let error = SystemError(code: errno)
        unlink(temporary)
        return error
    }
    return nil
}
