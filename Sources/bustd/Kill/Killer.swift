import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif

/// How a kill ended.
enum KillOutcome: Equatable {
    /// The victim (and with -g its group) exited this long after the first signal.
    case exited(afterMs: Int64)
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

    /// afterFirstSignal runs once the first signal is sent (to publish the
    /// kill without delaying it); memoryAtKillLevel is asked during the grace.
    func kill(_ victim: Candidate, urgency: Urgency, afterFirstSignal: () -> Void,
              memoryAtKillLevel: () -> Bool) -> KillReport {
        let group = processGroup(for: victim)
        var pidfd = bustd_pidfd_open(victim.pid)
        if pidfd < 0 {
            let error = bustd_errno()
            if error == ESRCH { return KillReport(outcome: .vanished, signals: "") }
            if error != ENOSYS { return KillReport(outcome: .failed("pidfd_open: \(errorText(error))"), signals: "") }
            pidfd = -1  // kernel before 5.3: kill(2) with start-time checks
        }
        defer { if pidfd >= 0 { close(pidfd) } }

        // The pidfd (or, without one, the next signal) names the process
        // that now holds the pid; make sure it is the one scanned.
        guard isSameProcess(victim) else { return KillReport(outcome: .vanished, signals: "") }

        var signals: [String] = []
        var killSentAt: Int64?
        var released = false

        func send(_ signal: Int32) -> String? {
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
            signals.append(signal == SIGKILL ? "SIGKILL" : "SIGTERM")
            return nil
        }

        let startedAt = bustd_monotonic_ms()
        if let error = send(urgency == .kill ? SIGKILL : SIGTERM) {
            if !isAlive(victim, pidfd: pidfd) { return KillReport(outcome: .vanished, signals: "") }
            return KillReport(outcome: .failed(error), signals: "")
        }
        afterFirstSignal()
        if urgency == .kill {
            killSentAt = startedAt
            released = bustd_process_mrelease(pidfd) == 0
        }

        while true {
            let now = bustd_monotonic_ms()
            if !isAlive(victim, pidfd: pidfd) && !groupHasLiveMembers(group) {
                return KillReport(outcome: .exited(afterMs: now - startedAt), signals: joined(signals), memoryReleased: released)
            }
            if let killSentAt {
                if now - killSentAt >= Killer.exitWaitMs {
                    return KillReport(outcome: .stillAlive(afterMs: now - killSentAt), signals: joined(signals), memoryReleased: released)
                }
            } else if now - startedAt >= Int64(graceMs) || memoryAtKillLevel() {
                _ = send(SIGKILL)
                killSentAt = now
                if pidfd >= 0 && bustd_process_mrelease(pidfd) == 0 { released = true }
                continue
            }
            let deadline = killSentAt.map { $0 + Killer.exitWaitMs } ?? startedAt + Int64(graceMs)
            waitForExit(pidfd: pidfd, milliseconds: min(Killer.checkEveryMs, max(1, deadline - now)))
        }
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
