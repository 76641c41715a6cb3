import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// A file replaced whole on every write, so that a reader (node_exporter's
/// textfile collector) sees the old contents or the new, never a part:
/// the bytes go to a temporary file in the same directory, are fsynced,
/// and the temporary file is renamed over the path.
///
/// bustd runs as root and the directory may belong to another user (the
/// collector's), so nothing in it is trusted, as for the pid file: the
/// directory is opened once (O_NOFOLLOW: not a symbolic link) and every
/// name is resolved against that descriptor; it must not be writable by
/// users other than its owner unless it has the sticky bit (then no one
/// else may rename or remove bustd's files); the temporary file is created
/// with O_EXCL | O_NOFOLLOW, so a file or link planted at its name is
/// never opened (it is removed, as a name, and the creation tried once
/// more); and rename(2) replaces a planted link at the final name instead
/// of following it.
final class AtomicFile {
    let path: String
    private let directoryFD: Int32
    private let name: String
    /// Beside the final name; not ending in .prom, so the collector skips it.
    private let temporaryName: String

    static func open(_ path: String, for what: String) -> Result<AtomicFile, OptionError> {
        let directory = parentDirectory(of: path)
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        guard !name.isEmpty, name != ".", name != ".." else {
            return .failure(OptionError("\(what) \(quotedArgument(path)) does not name a file"))
        }
        let fd = bustd_open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)
        guard fd >= 0 else {
            return .failure(OptionError("cannot open the directory of \(what) \(quotedArgument(directory)): \(errorText(bustd_errno()))"))
        }
        var info = FileIdentity()
        guard bustd_fstat_identity(fd, &info) == 0, !AtomicFile.isWritableByOthers(mode: info.mode) else {
            close(fd)
            return .failure(
                OptionError(
                    "\(quotedArgument(directory)) is writable by others without the sticky bit; refusing to put \(what) there"))
        }
        // What is at the path now must be a regular file (or nothing): a
        // link there is someone else's doing, and is refused outright.
        var existing = FileIdentity()
        let found = name.withCString { bustd_lstat_identity_at(fd, $0, &existing) }
        if found == 0 && existing.mode & 0o170000 != 0o100000 {
            close(fd)
            return .failure(OptionError("\(what) \(quotedArgument(path)) exists and is not a regular file (a symbolic link?); refusing it"))
        }
        return .success(AtomicFile(path: path, directoryFD: fd, name: name))
    }

    /// Group or world write permission without the sticky bit.
    static func isWritableByOthers(mode: UInt32) -> Bool { mode & 0o022 != 0 && mode & 0o1000 == 0 }

    private init(path: String, directoryFD: Int32, name: String) {
        self.path = path
        self.directoryFD = directoryFD
        self.name = name
        self.temporaryName = "." + name + ".tmp"
    }

    deinit { close(directoryFD) }

    /// Replaces the file's contents; nil on success, else what failed.
    func replace(with bytes: [UInt8]) -> String? {
        var fd = create()
        if fd < 0 && bustd_errno() == EEXIST {
            // A crash left it, or someone planted it: drop the name (a link
            // is removed, never followed) and try once more.
            _ = temporaryName.withCString { unlinkat(directoryFD, $0, 0) }
            fd = create()
        }
        guard fd >= 0 else { return "cannot create \(temporaryName) beside it: \(errorText(bustd_errno()))" }
        var problem: String?
        var offset = 0
        while offset < bytes.count && problem == nil {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count > 0 {
                offset += count
            } else if count < 0 && bustd_errno() != EINTR {
                problem = "write failed: \(errorText(bustd_errno()))"
            }
        }
        // The collector runs as another user: readable whatever the umask.
        if problem == nil && fchmod(fd, 0o644) != 0 { problem = "fchmod failed: \(errorText(bustd_errno()))" }
        if problem == nil && fsync(fd) != 0 { problem = "fsync failed: \(errorText(bustd_errno()))" }
        close(fd)
        if problem == nil {
            let renamed = temporaryName.withCString { from in name.withCString { bustd_renameat(directoryFD, from, directoryFD, $0) } }
            if renamed == 0 { return nil }
            problem = "rename failed: \(errorText(bustd_errno()))"
        }
        _ = temporaryName.withCString { unlinkat(directoryFD, $0, 0) }
        return problem
    }

    private func create() -> Int32 {
        temporaryName.withCString { bustd_openat_mode(directoryFD, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644) }
    }
}
