import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// A directory under /proc (or a fixture tree in tests), opened once, whose
/// files are read into one reused buffer: a scan of thousands of processes
/// allocates nothing per file. Reads fail quietly (nil) because any entry
/// under /proc/PID can vanish between two reads.
final class ProcDirectory {
    let path: String
    let fd: Int32
    private let scratch: ScratchBuffer
    private var buffer: UnsafeMutableBufferPointer<UInt8> { scratch.bytes }

    /// Largest file read through the shared buffer; longer files are cut.
    static let bufferSize = 16 * 1024

    init?(path: String) {
        let fd = bustd_open(path, O_RDONLY | O_DIRECTORY, 0)
        guard fd >= 0 else { return nil }
        self.path = path
        self.fd = fd
        self.scratch = ScratchBuffer(capacity: ProcDirectory.bufferSize)
    }

    deinit {
        close(fd)
        scratch.release()
    }

    /// Reads PID/NAME (or NAME alone when pid is nil) and hands the bytes to
    /// body. The bytes are valid only inside body.
    func withFile<R>(
        pid: Int32?, _ name: String, limit: Int = ProcDirectory.bufferSize,
        _ body: (UnsafeBufferPointer<UInt8>) -> R?
    ) -> R? {
        let length = min(limit, buffer.count)
        let count = bustd_read_proc_file(fd, pid ?? -1, name, buffer.baseAddress, length)
        guard count >= 0 else { return nil }
        return body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
    }

    /// The first number in PID/NAME, e.g. oom_score.
    func readInteger(pid: Int32?, _ name: String) -> Int? {
        withFile(pid: pid, name, limit: 64) { parseLeadingInteger($0) }
    }

    /// The whole file as bytes, or nil.
    func readBytes(pid: Int32?, _ name: String, limit: Int = ProcDirectory.bufferSize) -> [UInt8]? {
        withFile(pid: pid, name, limit: limit) { Array($0) }
    }

    /// The target of the symbolic link PID/NAME, e.g. exe.
    func readLink(pid: Int32?, _ name: String) -> [UInt8]? {
        let count = bustd_readlink_proc(fd, pid ?? -1, name, buffer.baseAddress, buffer.count)
        guard count >= 0 else { return nil }
        return Array(UnsafeBufferPointer(rebasing: buffer[0..<count]))
    }

    /// Owner uid of the PID directory (the process's uid), or nil.
    func ownerUID(pid: Int32) -> UInt32? {
        let uid = bustd_proc_owner(fd, pid)
        return uid < 0 ? nil : UInt32(truncatingIfNeeded: uid)
    }

    /// Whether PID/NAME exists and is readable right now.
    func exists(pid: Int32?, _ name: String) -> Bool {
        withFile(pid: pid, name, limit: 1) { _ in true } ?? false
    }
}

/// Parses an optionally signed decimal integer after leading blanks.
func parseLeadingInteger<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
    var value = 0
    var negative = false
    var digits = 0
    var started = false
    for byte in bytes {
        if !started && (byte == 0x20 || byte == 0x09 || byte == 0x0A) { continue }
        if !started && byte == UInt8(ascii: "-") {
            negative = true
            started = true
            continue
        }
        started = true
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { break }
        if digits >= 18 { return nil }
        value = value * 10 + Int(byte - UInt8(ascii: "0"))
        digits += 1
    }
    guard digits > 0 else { return nil }
    return negative ? -value : value
}

/// Reads a whole file of any size (e.g. cgroup.procs with thousands of
/// pids), or nil if it cannot be opened or read.
func readEntireFile(_ path: String) -> [UInt8]? {
    let fd = bustd_open(path, O_RDONLY, 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if bustd_errno() == EINTR { continue }
            return nil
        }
        if count == 0 { return contents }
        contents.append(contentsOf: chunk[0..<count])
    }
}

/// A file kept open and re-read whole with one pread(2): for the figures
/// bustd samples again and again (/proc/meminfo, /proc/vmstat).
final class PreadFile {
    private let fd: Int32
    private let scratch: ScratchBuffer
    private var buffer: UnsafeMutableBufferPointer<UInt8> { scratch.bytes }

    init?(path: String, capacity: Int) {
        fd = bustd_open(path, O_RDONLY, 0)
        guard fd >= 0 else { return nil }
        scratch = ScratchBuffer(capacity: capacity)
    }

    deinit {
        close(fd)
        scratch.release()
    }

    func withContents<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R?) -> R? {
        let count = pread(fd, buffer.baseAddress, buffer.count, 0)
        guard count > 0 else { return nil }
        return body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
    }
}
