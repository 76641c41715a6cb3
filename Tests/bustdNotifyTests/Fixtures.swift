import Shared

@testable import bustd_notify

/// Events as the daemon would send them, with figures easy to check.
enum Fixtures {
    static let instance = "0123456789abcdef0123456789abcdef"
    static let otherInstance = "fedcba9876543210fedcba9876543210"

    static let thresholds = Event.Thresholds(
        memoryTerminatePercent: 1000, memoryKillPercent: 500,
        swapTerminatePercent: 1000, swapKillPercent: 500,
        pressureCutoffPercent: 2500)

    static func kill(
        pid: Int32 = 4242, name: String = "firefox", dryRun: Bool = false,
        rule: Event.Rule = .lowMemory, available: Int = 300, pressure: Int? = 4100
    ) -> Event.Kill {
        Event.Kill(
            pid: pid, uid: 1000, userName: "alice", processName: Array(name.utf8), commandLine: Array(name.utf8),
            executablePath: nil, rssKiB: 3_145_728, swapKiB: 0, oomScore: 900, oomScoreAdj: 0,
            signal: "SIGTERM", rule: rule,
            figures: Event.Figures(availablePercent: available, swapFreePercent: 0, pressurePercent: pressure),
            thresholds: thresholds, dryRun: dryRun)
    }

    static func killed(pid: Int32 = 4242, name: String = "firefox", recoveredKiB: Int64 = 2_202_010) -> Event.Killed {
        Event.Killed(
            pid: pid, uid: 1000, processName: Array(name.utf8), timeToExitMs: 120,
            recoveredKiB: recoveredKiB, signals: "SIGTERM")
    }

    static func event(
        _ payload: Event.Payload, sequence: UInt64, timeMs: Int64 = 1_764_180_000_000,
        instance: String = Fixtures.instance
    ) -> Event {
        Event(sequence: sequence, instance: instance, timeMs: timeMs, payload: payload)
    }

    static func hello(instance: String = Fixtures.instance, retained: ClosedRange<UInt64>?) -> Event {
        event(
            .hello(Event.Hello(daemonVersion: "0.1.0", scope: .ownUID, peerUID: 1000, retained: retained)),
            sequence: 0, instance: instance)
    }
}
