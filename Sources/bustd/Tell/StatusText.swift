import Shared

/// `bustd status` for a person: one figure per line, each beside the limit
/// it is measured against. Names come from processes' own choice, so they
/// are quoted and escaped (quoted()) before they reach the terminal.
func statusText(_ status: DaemonStatus, nowMs: Int64) -> String {
    let figures = status.figures
    let limits = status.thresholds
    var lines: [String] = []
    lines.append(
        "bustd \(status.daemonVersion), up \(formatDuration(status.uptimeMs))\(status.dryRun ? ", dry run (kills nothing)" : "")")
    lines.append(
        "available memory  \(formatHundredths(figures.availablePercent)) % (\(kib(figures.availableKiB)) of \(formatKiB(status.totalKiB))); "
            + limitText(limits.memoryTerminatePercent, limits.memoryTerminateKiB, limits.memoryKillPercent, limits.memoryKillKiB))
    if status.swapTotalKiB > 0 {
        lines.append(
            "free swap         \(formatHundredths(figures.swapFreePercent)) % (\(kib(figures.swapFreeKiB)) of \(formatKiB(status.swapTotalKiB))); "
                + limitText(limits.swapTerminatePercent, limits.swapTerminateKiB, limits.swapKillPercent, limits.swapKillKiB))
    } else {
        lines.append("free swap         no swap (counts as empty)")
    }
    if let pressure = figures.pressurePercent {
        lines.append(
            "memory pressure   \(formatHundredths(pressure)) % (\(status.pressureMetric) avg10); cutoff \(formatHundredths(limits.pressureCutoffPercent)) %"
        )
    } else {
        lines.append("memory pressure   not available (no PSI)")
    }
    lines.append("poll interval     \(formatDuration(status.pollIntervalMs))")
    if let forecast = status.forecastMs {
        lines.append("forecast          a threshold crossed in about \(formatDuration(forecast))")
    }
    if let candidate = status.candidate {
        lines.append(
            "first candidate   pid \(candidate.pid) (uid \(candidate.uid)) \(quoted(candidate.processName)), RSS \(formatKiB(candidate.rssKiB))"
        )
    } else {
        lines.append("first candidate   \(status.scope == .all ? "none" : "none among your processes (you see only your own)")")
    }
    // A user who sees only its own processes is told only of their kills.
    let yours = status.scope == .all ? "" : " of your processes"
    let killWord = status.dryRun ? "would-be kill" : "kill"
    lines.append(
        "since start       \(counted(status.kills, killWord))\(yours), \(counted(status.warnings, "warning")), \(counted(status.kernelOOMKills, "kernel OOM kill"))"
    )
    if let time = status.lastKillTimeMs {
        let ago = "\(formatDuration(max(0, nowMs - time))) ago"
        if let kill = status.lastKill {
            lines.append("last kill         pid \(kill.pid) (uid \(kill.uid)) \(quoted(kill.processName)), \(kill.signal), \(ago)")
        } else {
            lines.append("last kill         \(ago) (process not shown)")
        }
    } else {
        lines.append("last kill         none\(yours)")
    }
    return lines.joined(separator: "\n") + "\n"
}

/// "SIGTERM at 10 % (1.6 GiB), SIGKILL at 5 % (819.2 MiB)"
private func limitText(_ terminatePercent: Int, _ terminateKiB: Int64?, _ killPercent: Int, _ killKiB: Int64?) -> String {
    func one(_ percent: Int, _ size: Int64?) -> String {
        "\(formatHundredths(percent)) %" + (size.map { " (\(formatKiB($0)))" } ?? "")
    }
    return "SIGTERM at \(one(terminatePercent, terminateKiB)), SIGKILL at \(one(killPercent, killKiB))"
}

private func kib(_ value: Int64?) -> String { value.map(formatKiB) ?? "?" }

private func counted(_ count: UInt64, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// "850 ms", "1.5 s", "42 s", "3 min", "2 h 5 min", "3 d 4 h".
func formatDuration(_ ms: Int64) -> String {
    if ms < 1000 { return "\(ms) ms" }
    if ms < 10_000 { return ms % 1000 / 100 == 0 ? "\(ms / 1000) s" : "\(ms / 1000).\(ms % 1000 / 100) s" }
    let seconds = ms / 1000
    if seconds < 120 { return "\(seconds) s" }
    let minutes = seconds / 60
    if minutes < 120 { return "\(minutes) min" }
    let hours = minutes / 60
    if hours < 48 { return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min" }
    return hours % 24 == 0 ? "\(hours / 24) d" : "\(hours / 24) d \(hours % 24) h"
}
