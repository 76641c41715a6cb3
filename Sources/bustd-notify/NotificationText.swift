// The words of each notification, from the events. Plain text: names are
// already made safe by displayName, and markup escaping happens where the
// server's capabilities are known (DesktopNotifier).
import Shared

/// One notification to show or update.
struct NotificationContent: Equatable {
    /// Same slot, same notification on screen: a later content replaces it.
    var slot: Int
    var kind: NotificationKind
    var summary: String
    var body: String
    /// The app's own icon, when the kill was of a desktop app's unit.
    var icon: String? = nil
}

/// "3.5 %" below 10 %, "41 %" above: the precision that matters near the limits.
func formatPercent(_ hundredths: Int) -> String {
    if hundredths < 1_000 { return formatHundredths((hundredths + 5) / 10 * 10) + " %" }
    return formatHundredths((hundredths + 50) / 100 * 100) + " %"
}

/// One victim of a burst: the kill, and the killed event once it came.
struct BurstVictim: Equatable {
    var pid: Int32
    var name: [UInt8]
    var kill: Event.Kill?
    var killed: Event.Killed?
    /// The desktop app its unit belongs to, when known (DesktopApps).
    var app: DesktopApp? = nil

    /// "Firefox (Web Content, PID 4242)", or "Web Content (PID 4242)".
    var described: String {
        guard let app else { return "\(displayName(name)) (PID \(pid))" }
        return "\(displayName(Array(app.name.utf8))) (\(displayName(name)), PID \(pid))"
    }

    /// "Firefox (Web Content)", or "Web Content", in a list of names.
    var listed: String {
        guard let app else { return displayName(name) }
        return "\(displayName(Array(app.name.utf8))) (\(displayName(name)))"
    }
}

enum NotificationText {
    static let maxNamesListed = 5

    /// "bustd killed firefox (PID 4242)", "bustd closed Firefox (Web
    /// Content, PID 4242)" when the unit names a desktop app, "bustd would
    /// kill 3 processes: a, b, c".
    static func killSummary(_ victims: [BurstVictim]) -> String {
        let dryRun = !victims.isEmpty && victims.allSatisfy { $0.kill?.dryRun == true }
        if victims.count == 1 {
            let verb =
                victims[0].app == nil
                ? (dryRun ? "bustd would kill" : "bustd killed")
                : (dryRun ? "bustd would close" : "bustd closed")
            return verb + " " + victims[0].described
        }
        let verb = dryRun ? "bustd would kill" : "bustd killed"
        var names = victims.prefix(maxNamesListed).map(\.listed).joined(separator: ", ")
        if victims.count > maxNamesListed { names += " and \(victims.count - maxNamesListed) more" }
        return verb + " \(victims.count) processes: " + names
    }

    /// Why (the figures of the first kill) and what came back (the killed events so far).
    static func killBody(_ victims: [BurstVictim]) -> String {
        var sentences: [String] = []
        if let kill = victims.lazy.compactMap(\.kill).first {
            sentences.append(why(kill))
        }
        let exited = victims.compactMap(\.killed)
        if !exited.isEmpty {
            let recovered = exited.reduce(Int64(0)) { $0 + $1.recoveredKiB }
            sentences.append(recovered > 0 ? formatKiB(recovered) + " freed." : "No memory came back yet.")
        }
        if victims.contains(where: { $0.kill?.dryRun == true }) {
            sentences.append("Dry run: nothing was signalled.")
        }
        return sentences.joined(separator: " ")
    }

    /// Whether free swap is worth naming. The low-memory rule waits for both
    /// figures; 0 % free means no swap (or none left), and a threshold of
    /// 100 % means swap is ignored, so then available memory alone decides.
    static func swapCounts(_ figures: Event.Figures, _ thresholds: Event.Thresholds) -> Bool {
        figures.swapFreePercent > 0 && thresholds.swapTerminatePercent < 10_000
    }

    /// "Available memory was 3 %, memory pressure 41 %." with the rule's limit.
    static func why(_ kill: Event.Kill) -> String {
        let figures = kill.figures
        let swap = kill.rule == .lowMemory && swapCounts(figures, kill.thresholds)
        var text = "Available memory was " + formatPercent(figures.availablePercent)
        if swap { text += ", free swap " + formatPercent(figures.swapFreePercent) }
        if let pressure = figures.pressurePercent {
            text += ", memory pressure " + formatPercent(pressure)
        }
        switch kill.rule {
        case .lowMemory:
            text += " (bustd acts at " + formatPercent(kill.thresholds.memoryTerminatePercent) + " available"
            text += swap ? " and " + formatPercent(kill.thresholds.swapTerminatePercent) + " free swap)." : ")."
        case .pressure:
            text += " (bustd acts at " + formatPercent(kill.thresholds.pressureCutoffPercent) + " pressure)."
        }
        return text
    }

    static func killFailed(_ failure: Event.KillFailed, slot: Int) -> NotificationContent {
        NotificationContent(
            slot: slot, kind: .killFailed,
            summary: "bustd could not kill \(displayName(failure.processName)) (PID \(failure.pid))",
            body: "Reason: " + displayName(Array(failure.reason.utf8), maxCharacters: 200) + ".")
    }

    /// Names the figures still above their limits (Event.Warning.awaits).
    static func warning(_ warning: Event.Warning, slot: Int) -> NotificationContent {
        let figures = warning.figures
        let thresholds = warning.thresholds
        var summary = "Memory is low: " + formatPercent(figures.availablePercent) + " available"
        if swapCounts(figures, thresholds) { summary += ", " + formatPercent(figures.swapFreePercent) + " swap free" }
        var waits: [String] = []
        if warning.awaits.memory { waits.append("available memory drops to " + formatPercent(thresholds.memoryTerminatePercent)) }
        if warning.awaits.swap { waits.append("free swap drops to " + formatPercent(thresholds.swapTerminatePercent)) }
        let who = warning.victim.map { "\(displayName($0.processName)) (PID \($0.pid))" } ?? "the biggest process"
        let when = waits.isEmpty ? " soon." : " if " + waits.joined(separator: " and ") + "."
        return NotificationContent(slot: slot, kind: .warning, summary: summary, body: "bustd will stop \(who)" + when)
    }

    static func kernelOOM(_ oom: Event.KernelOOM, slot: Int) -> NotificationContent {
        let summary: String
        if let name = oom.processName, let pid = oom.pid {
            summary = "The kernel's OOM killer killed \(displayName(name)) (PID \(pid))"
        } else if oom.count == 1 {
            summary = "The kernel's OOM killer killed a process"
        } else {
            summary = "The kernel's OOM killer killed \(oom.count) processes"
        }
        return NotificationContent(
            slot: slot, kind: .kernelOOM, summary: summary,
            body: "Memory ran out before bustd could act, or outside what it watches.")
    }

    /// "This happened 4 min ago." for replayed events, so old news reads as old.
    static func ageNote(eventTimeMs: Int64, nowMs: Int64) -> String? {
        let seconds = (nowMs - eventTimeMs) / 1000
        guard seconds >= 60 else { return nil }
        if seconds < 3600 { return "This happened \(seconds / 60) min ago." }
        return "This happened \(seconds / 3600) h ago."
    }
}
