import Shared

/// Notices the kernel's own OOM killer: /proc/vmstat's oom_kill counter
/// (Linux 4.13+) counts its kills, system-wide and in cgroups. With
/// --scope, the scope's own memory.events (cgroup v2) counts those in it:
/// kills elsewhere are not what a scoped bustd watches.
final class KernelOOMWatcher {
    /// While memory is plentiful, the counter is read at least this often.
    static let plentifulCheckMs: Int64 = 10_000

    private let file: PreadFile
    private var lastCount: UInt64
    private var lastCheckMs: Int64 = 0

    /// Where the count comes from, for the event and the log line.
    let source: Event.KernelOOMSource
    let counterName: String

    init?(path: String = "/proc/vmstat", source: Event.KernelOOMSource = .vmstat) {
        guard let file = PreadFile(path: path, capacity: 16 * 1024),
            let count = file.withContents(parseOOMKillCount)
        else { return nil }
        self.file = file
        self.lastCount = count
        self.source = source
        self.counterName = "\(path) oom_kill"
    }

    /// The scope's counter: memory.events of its cgroup v2 directory.
    static func scoped(to directory: String) -> KernelOOMWatcher? {
        KernelOOMWatcher(path: directory + "/memory.events", source: .memoryEvents)
    }

    /// Whether to read the counter at this look, when the next one is
    /// `nextLookInMs` away: yes if waiting for it would pass the due time.
    /// Reading early, never waking for it, keeps idle wake-ups as they are.
    func isDue(nowMs: Int64, nextLookInMs: Int) -> Bool {
        nowMs + Int64(nextLookInMs) - lastCheckMs > KernelOOMWatcher.plentifulCheckMs
    }

    /// Kernel OOM kills since the last call.
    func newKills(nowMs: Int64) -> UInt64 {
        lastCheckMs = nowMs
        guard let count = file.withContents(parseOOMKillCount), count > lastCount else { return 0 }
        defer { lastCount = count }
        return count - lastCount
    }
}

/// The value of the "oom_kill N" line of /proc/vmstat. It runs every ten
/// seconds while memory is fine, so it allocates nothing: idle code that
/// allocates keeps malloc's pages resident.
func parseOOMKillCount(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
    let key: StaticString = "oom_kill "
    let keyLength = key.utf8CodeUnitCount
    var lineStart = 0
    while lineStart + keyLength <= bytes.count {
        var matches = true
        for offset in 0..<keyLength where bytes[lineStart + offset] != key.utf8Start[offset] {
            matches = false
            break
        }
        if matches, let value = parseLeadingInteger(bytes[(lineStart + keyLength)...]), value >= 0 {
            return UInt64(value)
        }
        guard let newline = bytes[lineStart...].firstIndex(of: 0x0A) else { return nil }
        lineStart = newline + 1
    }
    return nil
}
