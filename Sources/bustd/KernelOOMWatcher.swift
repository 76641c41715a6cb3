/// Notices the kernel's own OOM killer: /proc/vmstat's oom_kill counter
/// (Linux 4.13+) counts its kills, system-wide and in cgroups.
final class KernelOOMWatcher {
    private let file: PreadFile
    private var lastCount: UInt64

    init?(path: String = "/proc/vmstat") {
        guard let file = PreadFile(path: path, capacity: 16 * 1024),
              let count = file.withContents(parseOOMKillCount) else { return nil }
        self.file = file
        self.lastCount = count
    }

    /// Kernel OOM kills since the last call.
    func newKills() -> UInt64 {
        guard let count = file.withContents(parseOOMKillCount), count > lastCount else { return 0 }
        defer { lastCount = count }
        return count - lastCount
    }
}

/// The value of the "oom_kill N" line of /proc/vmstat.
func parseOOMKillCount(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
    let key = Array("oom_kill ".utf8)
    for line in bytes.split(separator: 0x0A) where line.starts(with: key) {
        if let value = parseLeadingInteger(line.dropFirst(key.count)), value >= 0 { return UInt64(value) }
    }
    return nil
}
