import CBustd

/// Where one look spends its time, for the verbose log: a look near the
/// thresholds should take a millisecond or two, and one that takes far
/// longer (a read of /proc stalled in reclaim, a scan) says which part did.
struct PhaseClock {
    private var startedMs: Int64 = 0
    private var lastMs: Int64 = 0
    private var parts: [(name: StaticString, ms: Int64)] = []

    mutating func start(_ nowMs: Int64) {
        startedMs = nowMs
        lastMs = nowMs
        parts.removeAll(keepingCapacity: true)
    }

    /// The phase that just ended.
    mutating func mark(_ name: StaticString) {
        let now = bustd_monotonic_ms()
        parts.append((name, now - lastMs))
        lastMs = now
    }

    /// "143 ms (vmstat 0, meminfo 121, pressure 1, kill 21)", or nil when
    /// the look was quick.
    func describeIfSlower(than limitMs: Int64, nowMs: Int64) -> String? {
        let total = nowMs - startedMs
        guard total >= limitMs else { return nil }
        let list = parts.map { "\($0.name) \($0.ms)" }.joined(separator: ", ")
        return "\(total) ms (\(list))"
    }
}
