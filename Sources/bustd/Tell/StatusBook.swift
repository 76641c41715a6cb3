import CBustd
import Shared

/// What a status answer tells beyond the figures of the moment: counts
/// since start, the last kill, the poll interval, and a candidate found for
/// an earlier answer. Kept in integers (and, after a kill, its name), so
/// that keeping it costs the idle loop nothing; the answer is built only
/// when a peer asks (EventServer.statusWanted).
struct StatusBook {
    let startedMs: Int64
    private(set) var kills: UInt64 = 0
    private(set) var warnings: UInt64 = 0
    private(set) var kernelOOMKills: UInt64 = 0
    private(set) var lastKillTimeMs: Int64?
    private(set) var lastKill: DaemonStatus.LastKill?
    /// Per user, for peers that see only their own: the users whose
    /// processes were killed most recently, at most `usersKept`.
    private var userKills: [(uid: UInt32, kills: DaemonStatus.UserKills)] = []
    static let usersKept = 64
    /// The sleep chosen after the latest look.
    var pollIntervalMs = 0
    /// A candidate scanned for an answer, reused for a while: many peers
    /// asking at once cost one scan, not one each.
    private var scannedCandidate: (atMs: Int64, candidate: DaemonStatus.Candidate?)?
    static let candidateReuseMs: Int64 = 1000

    init(startedMs: Int64) { self.startedMs = startedMs }

    /// Counts an event the daemon published.
    mutating func note(_ event: Event.Payload) {
        switch event {
        case .kill(let kill):
            kills += 1
            lastKillTimeMs = bustd_realtime_ms()
            lastKill = DaemonStatus.LastKill(pid: kill.pid, uid: kill.uid, processName: kill.processName, signal: kill.signal)
            var record = userKills.first { $0.uid == kill.uid }?.kills ?? DaemonStatus.UserKills()
            record.count += 1
            record.lastTimeMs = lastKillTimeMs
            record.last = lastKill
            userKills.removeAll { $0.uid == kill.uid }
            if userKills.count >= StatusBook.usersKept { userKills.removeFirst() }
            userKills.append((kill.uid, record))
        case .warning: warnings += 1
        case .kernelOOM(let oom): kernelOOMKills += oom.count
        case .hello, .killed, .killFailed: break
        }
    }

    /// One user's kills (none when that user's were never, or long ago, noted).
    func kills(ofUser uid: UInt32) -> DaemonStatus.UserKills {
        userKills.first { $0.uid == uid }?.kills ?? DaemonStatus.UserKills()
    }

    /// The candidate for an answer: the fresh shortlist's first when there
    /// is one, else a recent answer's scan, else a new scan (scan()).
    mutating func candidate(shortlisted: Candidate?, nowMs: Int64, scan: () -> Candidate?) -> DaemonStatus.Candidate? {
        if let shortlisted { return StatusBook.describe(shortlisted) }
        if let scanned = scannedCandidate, nowMs - scanned.atMs < StatusBook.candidateReuseMs { return scanned.candidate }
        let found = scan().map(StatusBook.describe)
        scannedCandidate = (nowMs, found)
        return found
    }

    private static func describe(_ candidate: Candidate) -> DaemonStatus.Candidate {
        DaemonStatus.Candidate(
            pid: candidate.pid, uid: candidate.uid, processName: candidate.stat.name, rssKiB: candidate.residentKiB)
    }

    /// The status as the daemon sees it now, before the privacy filter
    /// (DaemonStatus.visible) and with no instance (the server's own).
    func snapshot(
        memory: MemoryStatus, figures: Event.Figures, thresholds: Event.Thresholds, pressureMetric: PressureMetric,
        forecastMs: Int64?, candidate: DaemonStatus.Candidate?, dryRun: Bool, nowMs: Int64
    ) -> DaemonStatus {
        DaemonStatus(
            instance: "", timeMs: bustd_realtime_ms(), daemonVersion: bustdVersion, uptimeMs: nowMs - startedMs,
            scope: .all, peerUID: 0, dryRun: dryRun, figures: figures, totalKiB: memory.totalKiB,
            swapTotalKiB: memory.swapTotalKiB, thresholds: thresholds, pressureMetric: pressureMetric.name,
            pollIntervalMs: Int64(pollIntervalMs), forecastMs: forecastMs, candidate: candidate, kills: kills,
            warnings: warnings, kernelOOMKills: kernelOOMKills, lastKillTimeMs: lastKillTimeMs, lastKill: lastKill)
    }
}
