import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif

/// How a kill ended, as far as the Killer waited for it.
enum KillOutcome: Equatable {
    /// The victim (and with -g its group) exited this long after the first signal.
    case exited(afterMs: Int64)
    /// SIGKILL went out (and process_mrelease reaped what it could), but
    /// memory was still at the SIGKILL threshold: waiting for the exit
    /// would let the other growers run the machine out, so the victim is
    /// left to die while the next one is chosen. The Monitor watches it.
    case dying(DyingVictim)
    /// Gone, or its pid reused, before any signal was sent: nothing was killed.
    case vanished
    /// Still alive this long after SIGKILL.
    case stillAlive(afterMs: Int64)
    case failed(String)
}

struct KillReport: Equatable {
    var outcome: KillOutcome
    /// "SIGTERM", "SIGKILL" or "SIGTERM, then SIGKILL".
    var signals: String
    /// Whether process_mrelease reaped the victim's memory early.
    var memoryReleased = false
    /// From the decision to the first signal.
    var decisionToSignalMs: Int64 = 0
}

/// A victim that has had SIGKILL and not yet exited.
struct DyingVictim: Equatable {
    var pid: Int32
    var startTime: UInt64
    /// Open until the victim exits: polls readable then. -1 without pidfds.
    var pidfd: Int32
    var processGroup: Int32?
    var firstSignalMs: Int64
    var signals: String
    var memoryReleased: Bool
}

/// Signals a victim without pid-reuse races: a pidfd names the process, its
/// start time is checked against the scan's after the pidfd is opened,
/// signals go through the pidfd, and bustd waits on the pidfd (poll) rather
/// than sleeping in a loop. SIGTERM first; SIGKILL after the grace period,
/// or at once when memory reaches the SIGKILL threshold; process_mrelease
/// after SIGKILL only (the kernel refuses it for a process not dying).
final class Killer {
    let proc: ProcDirectory
    let graceMs: Int
    let killProcessGroup: Bool
    /// After SIGKILL, how long to wait for the exit before giving up.
    static let exitWaitMs: Int64 = 10_000
    /// The longest single wait, so memory is re-checked during the grace.
    static let checkEveryMs: Int64 = 100
    /// Near the SIGKILL threshold memory is re-checked this often.
    static let checkEveryAtKillLevelMs: Int64 = 20

    init(proc: ProcDirectory, graceMs: Int, killProcessGroup: Bool) {
        self.proc = proc
        self.graceMs = graceMs
        self.killProcessGroup = killProcessGroup
    }

    /// The process group to signal with -g, or nil to signal the victim
    /// alone: never group 0 or 1, never bustd's own group.
    func processGroup(for victim: Candidate) -> Int32? {
        guard killProcessGroup else { return nil }
        let group = victim.stat.processGroup
        guard group > 1, group != getpgrp() else { return nil }
        return group
    }

    /// decidedAtMs: when the rule fired (for the decision-to-signal time).
    /// afterFirstSignal runs once the first signal is sent (to log and
    /// publish the kill without delaying it); memoryAtKillLevel is asked
    /// during the grace and after SIGKILL.
    ///
    /// rehearsal: signal 0 instead of SIGTERM/SIGKILL, and memory taken to
    /// be at the SIGKILL threshold, so that the whole path runs once and
    /// returns at once (Monitor.rehearseKillPath, on bustd itself).
    func kill(_ victim: Candidate, urgency: Urgency, decidedAtMs: Int64, rehearsal: Bool = false,
              afterFirstSignal: (_ decisionToSignalMs: Int64) -> Void,
              memoryAtKillLevel: () -> Bool) -> KillReport {
        let group = processGroup(for: victim)
        var pidfd = bustd_pidfd_open(victim.pid)
        if pidfd < 0 {
            let error = bustd_errno()
            if error == ESRCH { return KillReport(outcome: .vanished, signals: "") }
            if error != ENOSYS { return KillReport(outcome: .failed("pidfd_open: \(errorText(error))"), signals: "") }
            pidfd = -1  // kernel before 5.3: kill(2) with start-time checks
        }
        var keepPidfd = false
        defer { if pidfd >= 0 && !keepPidfd { close(pidfd) } }

        // The pidfd (or, without one, the next signal) names the process
        // that now holds the pid; make sure it is the one scanned.
        guard isSameProcess(victim) else { return KillReport(outcome: .vanished, signals: "") }

        var signals: [String] = []
        var killSentAt: Int64?
        var released = false

        func send(_ wanted: Int32) -> String? {
            let signal = rehearsal ? 0 : wanted
            let result: Int32
            if let group {
                result = bustd_kill(-group, signal)
            } else if pidfd >= 0 {
                result = bustd_pidfd_send_signal(pidfd, signal)
            } else {
                guard isSameProcess(victim) else { return "the process exited before the signal" }
                result = bustd_kill(victim.pid, signal)
            }
            if result != 0 { return errorText(bustd_errno()) }
            signals.append(wanted == SIGKILL ? "SIGKILL" : "SIGTERM")
            return nil
        }

        if let error = send(urgency == .kill ? SIGKILL : SIGTERM) {
            if !isAlive(victim, pidfd: pidfd) { return KillReport(outcome: .vanished, signals: "") }
            return KillReport(outcome: .failed(error), signals: "")
        }
        let startedAt = bustd_monotonic_ms()
        let decisionToSignal = startedAt - decidedAtMs
        if urgency == .kill {
            killSentAt = startedAt
            released = bustd_process_mrelease(pidfd) == 0
        }
        afterFirstSignal(decisionToSignal)

        func report(_ outcome: KillOutcome) -> KillReport {
            KillReport(outcome: outcome, signals: joined(signals), memoryReleased: released, decisionToSignalMs: decisionToSignal)
        }
        while true {
            let now = bustd_monotonic_ms()
            if !isAlive(victim, pidfd: pidfd) && !groupHasLiveMembers(group) {
                return report(.exited(afterMs: now - startedAt))
            }
            if let killSentAt {
                if now - killSentAt >= Killer.exitWaitMs {
                    return report(.stillAlive(afterMs: now - killSentAt))
                }
                // SIGKILL is out and process_mrelease has returned what it
                // could: if memory is still at the SIGKILL threshold, the
                // next victim cannot wait for this one's exit.
                if rehearsal || memoryAtKillLevel() {
                    keepPidfd = true
                    return report(.dying(DyingVictim(
                        pid: victim.pid, startTime: victim.stat.startTime, pidfd: pidfd, processGroup: group,
                        firstSignalMs: startedAt, signals: joined(signals), memoryReleased: released)))
                }
            } else if now - startedAt >= Int64(graceMs) || memoryAtKillLevel() {
                _ = send(SIGKILL)
                killSentAt = now
                if pidfd >= 0 && bustd_process_mrelease(pidfd) == 0 { released = true }
                continue
            }
            let deadline = killSentAt.map { $0 + Killer.exitWaitMs } ?? startedAt + Int64(graceMs)
            let step = killSentAt == nil ? Killer.checkEveryMs : Killer.checkEveryAtKillLevelMs
            waitForExit(pidfd: pidfd, milliseconds: min(step, max(1, deadline - now)))
        }
    }

    /// Whether a victim left dying has exited (its group too, with -g).
    func hasExited(_ dying: DyingVictim) -> Bool {
        let alive: Bool
        if dying.pidfd >= 0 {
            var entry = pollfd(fd: dying.pidfd, events: Int16(POLLIN), revents: 0)
            alive = poll(&entry, 1, 0) == 0
        } else {
            let stat = proc.withFile(pid: dying.pid, "stat", limit: 1024, parseProcessStat)
            alive = stat.map { $0.startTime == dying.startTime && !$0.isZombie } ?? false
        }
        return !alive && !groupHasLiveMembers(dying.processGroup)
    }

    /// Whether the process holding victim's pid is still the one scanned
    /// (same start time) and not yet a zombie.
    func isSameProcess(_ victim: Candidate) -> Bool {
        guard let stat = proc.withFile(pid: victim.pid, "stat", limit: 1024, parseProcessStat) else { return false }
        return stat.startTime == victim.stat.startTime && !stat.isZombie
    }

    private func isAlive(_ victim: Candidate, pidfd: Int32) -> Bool {
        guard pidfd >= 0 else { return isSameProcess(victim) }
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 0
    }

    private func waitForExit(pidfd: Int32, milliseconds: Int64) {
        if pidfd >= 0 {
            var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(milliseconds))
        } else {
            _ = poll(nil, 0, Int32(milliseconds))
        }
    }

    /// With -g: whether any process of the group is still running (zombies
    /// waiting for their parent do not count).
    private func groupHasLiveMembers(_ group: Int32?) -> Bool {
        guard let group else { return false }
        guard bustd_kill(-group, 0) == 0 else { return false }
        guard let dir = opendir(proc.path) else { return false }
        defer { closedir(dir) }
        while true {
            let pid = bustd_next_pid(dir)
            if pid < 0 { return false }
            if let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat),
               stat.processGroup == group, !stat.isZombie {
                return true
            }
        }
    }

    private func joined(_ signals: [String]) -> String {
        signals.count == 2 ? signals[0] + ", then " + signals[1] : (signals.first ?? "")
    }
}
