// --test: one notification that looks like a real kill, to check that
// notifications reach this desktop (bus, server, urgency, icon).
import Shared

func sampleNotification() -> NotificationContent {
    let kill = Event.Kill(
        pid: 4242, uid: 1000, userName: nil, processName: Array("firefox".utf8),
        commandLine: [], executablePath: nil, rssKiB: 3_145_728, swapKiB: 0,
        oomScore: 900, oomScoreAdj: 0, signal: "SIGTERM", rule: .lowMemory,
        figures: Event.Figures(availablePercent: 300, swapFreePercent: 0, pressurePercent: 4100),
        thresholds: Event.Thresholds(
            memoryTerminatePercent: 1000, memoryKillPercent: 500,
            swapTerminatePercent: 1000, swapKillPercent: 500,
            pressureCutoffPercent: 2500),
        dryRun: false)
    let killed = Event.Killed(
        pid: 4242, uid: 1000, processName: Array("firefox".utf8), timeToExitMs: 120,
        recoveredKiB: 2_202_010, signals: "SIGTERM")
    let victims = [BurstVictim(pid: 4242, name: kill.processName, kill: kill, killed: killed)]
    return NotificationContent(
        slot: 0, kind: .kill,
        summary: "Test: " + NotificationText.killSummary(victims),
        body: NotificationText.killBody(victims)
            + " This is a test from bustd-notify --test: nothing was killed.")
}
