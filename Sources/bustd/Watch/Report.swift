import Shared

/// -r SECONDS: the memory figures logged at a fixed interval, earlyoom's
/// -r. Off by default: the Monitor then holds no PeriodicReport at all, so
/// the idle loop neither wakes nor allocates for it. When on, the daemon
/// wakes at least when a report is due (PollInterval), and the line is
/// composed only when it is written.
struct PeriodicReport {
    let intervalMs: Int64
    /// When the next report is due (monotonic ms): the first one at once.
    private(set) var dueAtMs: Int64

    init(intervalMs: Int, nowMs: Int64) {
        self.intervalMs = Int64(intervalMs)
        dueAtMs = nowMs
    }

    /// Whether a report is due now; if it is, the next one is scheduled an
    /// interval after this one was due, so reports do not drift, or an
    /// interval from now when a long look or a suspend left it behind
    /// (never a burst of reports to catch up).
    mutating func take(nowMs: Int64) -> Bool {
        guard nowMs >= dueAtMs else { return false }
        dueAtMs += intervalMs
        if dueAtMs <= nowMs { dueAtMs = nowMs + intervalMs }
        return true
    }

    func dueInMs(nowMs: Int64) -> Int64 { max(0, dueAtMs - nowMs) }

    /// "memory report: available 21790 of 23909 MiB (91.14%), swap free
    /// 0 of 0 MiB (0%), PSI some avg10 0.12%" (the PSI figure only where
    /// the kernel has PSI; full as well with --psi-metric full).
    static func line(_ memory: MemoryStatus, pressure: PressureFigures?, metric: PressureMetric) -> String {
        let mib = { (kib: Int64) in kib / 1024 }
        var text =
            "memory report: available \(mib(memory.availableKiB)) of \(mib(memory.totalKiB)) MiB (\(formatHundredths(memory.availablePercent))%), swap free \(mib(memory.swapFreeKiB)) of \(mib(memory.swapTotalKiB)) MiB (\(formatHundredths(memory.swapFreePercent))%)"
        if let pressure {
            text += ", PSI some avg10 \(formatHundredths(pressure.some.avg10))%"
            if metric == .full { text += ", full avg10 \(formatHundredths(pressure.full.avg10))%" }
        }
        return text
    }
}
