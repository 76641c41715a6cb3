import Shared

/// Says, once per process, why bustd spared it: an administrator reading
/// the log should see which rule protected what, without a line at every
/// scan. Remembers the last few hundred processes (pid and start time).
final class ProtectedProcessLog {
    static let remembered = 256
    private var seen: [(pid: Int32, startTime: UInt64)] = []
    private var next = 0

    func note(pid: Int32, startTime: UInt64, name: [UInt8], reason: String) {
        guard !seen.contains(where: { $0.pid == pid && $0.startTime == startTime }) else { return }
        if seen.count < ProtectedProcessLog.remembered {
            seen.append((pid, startTime))
        } else {
            seen[next] = (pid, startTime)
            next = (next + 1) % ProtectedProcessLog.remembered
        }
        Log.info("sparing pid \(pid) \(quoted(name)): \(reason)")
    }
}
