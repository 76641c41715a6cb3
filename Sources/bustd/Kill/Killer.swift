import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// How a kill ended, as far as the Killer waited for it.
enum KillOutcome: Equatable {
    /// The victim (and the rest of what was signalled) exited this long
    /// after the first signal.
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
    /// Processes signalled besides the victim (-g, a unit, an OOM group).
    var others = 0
}

/// One process the Killer signals: a pidfd names it (no pid-reuse race).
struct KillMember: Equatable {
    var pid: Int32
    var startTime: UInt64
    /// -1 on kernels without pidfds (before 5.3): kill(2) with start-time checks.
    var pidfd: Int32
}

/// A victim that has had SIGKILL and not yet exited.
struct DyingVictim: Equatable {
    var pid: Int32
    var startTime: UInt64
    /// Everything signalled, the victim first; their pidfds stay open until
    /// they have exited.
    var members: [KillMember]
    var firstSignalMs: Int64
    var signals: String
    var memoryReleased: Bool
}

/// What one kill signals besides the victim.
enum KillScope: Equatable {
    case process
    /// -g: the members of the victim's process group, one by one.
    case processGroup(Int32)
    /// The victim's whole cgroup and its children (its unit with
    /// --kill-unit, or a cgroup with memory.oom.group=1): the directory.
    case cgroup(String)
}

/// Signals a victim without pid-reuse races: a pidfd names the process, its
/// start time is checked against the scan's after the pidfd is opened,
/// signals go through the pidfd, and bustd waits on the pidfd (poll) rather
/// than sleeping in a loop. SIGTERM first; SIGKILL after the grace period,
/// or at once when memory reaches the SIGKILL threshold; process_mrelease
/// after SIGKILL only (the kernel refuses it for a process not dying).
///
/// A process group (-g) or a cgroup is signalled member by member, each
/// through its own pidfd, so that a member that may not be killed (a
/// protected process, oom_score_adj -1000, bustd itself) is left out; the
/// `mayJoin` check says which. A cgroup is only killed whole when none of
/// its members is protected (the Monitor checks), and its escalation also
/// writes cgroup.kill (Linux 5.14+), which reaches members forked since.
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
    /// during the grace and after SIGKILL. mayJoin says whether another
    /// member of the scope may be signalled (nil) or why not.
    ///
    /// rehearsal: signal 0 instead of SIGTERM/SIGKILL, and memory taken to
    /// be at the SIGKILL threshold, so that the whole path runs once and
    /// returns at once (Monitor.rehearseKillPath, on bustd itself).
    func kill(
        _ victim: Candidate, urgency: Urgency, decidedAtMs: Int64, scope: KillScope = .process,
        rehearsal: Bool = false, mayJoin: (Int32) -> String? = { _ in nil },
        afterFirstSignal: (_ decisionToSignalMs: Int64, _ others: Int) -> Void,
        memoryAtKillLevel: () -> Bool
    ) -> KillReport {
        var leader = KillMember(pid: victim.pid, startTime: victim.stat.startTime, pidfd: bustd_pidfd_open(victim.pid))
        if leader.pidfd < 0 {
            let error = bustd_errno()
            if error == ESRCH { return KillReport(outcome: .vanished, signals: "") }
            if error != ENOSYS { return KillReport(outcome: .failed("pidfd_open: \(errorText(error))"), signals: "") }
            leader.pidfd = -1  // kernel before 5.3: kill(2) with start-time checks
        }
        var members = [leader]
        var keepPidfds = false
        defer { if !keepPidfds { for member in members where member.pidfd >= 0 { close(member.pidfd) } } }

        // The pidfd (or, without one, the next signal) names the process
        // that now holds the pid; make sure it is the one scanned.
        guard isSameProcess(leader) else { return KillReport(outcome: .vanished, signals: "") }
        if !rehearsal { addMembers(of: scope, to: &members, mayJoin: mayJoin) }

        var signals: [String] = []
        var killSentAt: Int64?
        var released = false

        /// Signals every member; an error only when the victim itself
        /// could not be signalled, and only for the first signal (at the
        /// escalation a victim already gone is no error, and the others
        /// must get their SIGKILL all the same).
        func send(_ wanted: Int32) -> String? {
            let signal = rehearsal ? 0 : wanted
            let first = signals.isEmpty
            let leaderSignalled = signalOne(leader, signal)
            let error =
                leaderSignalled
                ? nil
                : leader.pidfd < 0 && !isSameProcess(leader) ? "the process exited before the signal" : errorText(bustd_errno())
            if first, let error { return error }
            for member in members.dropFirst() { _ = signalOne(member, signal) }
            signals.append(wanted == SIGKILL ? "SIGKILL" : "SIGTERM")
            return nil
        }

        func killHard() {
            if case .cgroup(let directory) = scope, !rehearsal {
                // Whatever forked into the cgroup since it was listed.
                addMembers(of: scope, to: &members, mayJoin: mayJoin)
                writeCgroupKill(directory)
            }
            _ = send(SIGKILL)
            for member in members where member.pidfd >= 0 {
                if bustd_process_mrelease(member.pidfd) == 0 && member.pid == leader.pid { released = true }
            }
        }

        if urgency == .kill {
            if case .cgroup(let directory) = scope, !rehearsal { writeCgroupKill(directory) }
            if let error = send(SIGKILL) {
                if !isAlive(leader) { return KillReport(outcome: .vanished, signals: "") }
                return KillReport(outcome: .failed(error), signals: "")
            }
            for member in members where member.pidfd >= 0 {
                if bustd_process_mrelease(member.pidfd) == 0 && member.pid == leader.pid { released = true }
            }
        } else if let error = send(SIGTERM) {
            if !isAlive(leader) { return KillReport(outcome: .vanished, signals: "") }
            return KillReport(outcome: .failed(error), signals: "")
        }
        let startedAt = bustd_monotonic_ms()
        if urgency == .kill { killSentAt = startedAt }
        let decisionToSignal = startedAt - decidedAtMs
        afterFirstSignal(decisionToSignal, members.count - 1)

        func report(_ outcome: KillOutcome) -> KillReport {
            KillReport(
                outcome: outcome, signals: joined(signals), memoryReleased: released,
                decisionToSignalMs: decisionToSignal, others: members.count - 1)
        }
        while true {
            let now = bustd_monotonic_ms()
            if !members.contains(where: isAlive) {
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
                    keepPidfds = true
                    return report(
                        .dying(
                            DyingVictim(
                                pid: victim.pid, startTime: victim.stat.startTime, members: members,
                                firstSignalMs: startedAt, signals: joined(signals), memoryReleased: released)))
                }
            } else if now - startedAt >= Int64(graceMs) || memoryAtKillLevel() {
                killHard()
                killSentAt = now
                continue
            }
            let deadline = killSentAt.map { $0 + Killer.exitWaitMs } ?? startedAt + Int64(graceMs)
            let step = killSentAt == nil ? Killer.checkEveryMs : Killer.checkEveryAtKillLevelMs
            waitForExit(of: members.first(where: isAlive) ?? leader, milliseconds: min(step, max(1, deadline - now)))
        }
    }

    /// Whether a victim left dying has exited, with all it was signalled with.
    func hasExited(_ dying: DyingVictim) -> Bool {
        !dying.members.contains(where: isAlive)
    }

    /// Whether the process holding victim's pid is still the one scanned
    /// (same start time) and not yet a zombie.
    func isSameProcess(_ member: KillMember) -> Bool {
        guard let stat = proc.withFile(pid: member.pid, "stat", limit: 1024, parseProcessStat) else { return false }
        return stat.startTime == member.startTime && !stat.isZombie
    }

    func isSameProcess(_ victim: Candidate) -> Bool {
        isSameProcess(KillMember(pid: victim.pid, startTime: victim.stat.startTime, pidfd: -1))
    }

    private func isAlive(_ member: KillMember) -> Bool {
        guard member.pidfd >= 0 else { return isSameProcess(member) }
        var entry = pollfd(fd: member.pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 0
    }

    private func signalOne(_ member: KillMember, _ signal: Int32) -> Bool {
        if member.pidfd >= 0 { return bustd_pidfd_send_signal(member.pidfd, signal) == 0 }
        guard isSameProcess(member) else { return false }
        return bustd_kill(member.pid, signal) == 0
    }

    private func waitForExit(of member: KillMember, milliseconds: Int64) {
        if member.pidfd >= 0 {
            var entry = pollfd(fd: member.pidfd, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(milliseconds))
        } else {
            _ = poll(nil, 0, Int32(milliseconds))
        }
    }

    /// The other processes of the scope, each opened as a pidfd and checked
    /// to be the process listed; members already in the list are skipped.
    private func addMembers(of scope: KillScope, to members: inout [KillMember], mayJoin: (Int32) -> String?) {
        let pids: [Int32]
        switch scope {
        case .process: return
        case .processGroup(let group): pids = processGroupMembers(group)
        case .cgroup(let directory): pids = cgroupMembers(directory)
        }
        for pid in pids where !members.contains(where: { $0.pid == pid }) {
            guard pid > 1, pid != getpid(), let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat),
                !stat.isZombie, !stat.isKernelThread
            else { continue }
            if let reason = mayJoin(pid) {
                Log.info("leaving pid \(pid) \(quoted(stat.name)) out of the kill: \(reason)")
                continue
            }
            var member = KillMember(pid: pid, startTime: stat.startTime, pidfd: bustd_pidfd_open(pid))
            if member.pidfd < 0 && bustd_errno() != ENOSYS { continue }  // gone already
            if !isSameProcess(member) {
                if member.pidfd >= 0 { close(member.pidfd) }
                continue
            }
            if member.pidfd < 0 { member.pidfd = -1 }
            members.append(member)
        }
    }

    /// The live processes of a process group.
    private func processGroupMembers(_ group: Int32) -> [Int32] {
        guard bustd_kill(-group, 0) == 0, let dir = bustd_directory_open(proc.fd, ".") else { return [] }
        defer { bustd_directory_close(dir) }
        var pids: [Int32] = []
        while true {
            let pid = bustd_next_pid(dir)
            if pid < 0 { return pids }
            if let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat),
                stat.processGroup == group, !stat.isZombie
            {
                pids.append(pid)
            }
        }
    }

    /// The processes of a cgroup and of the cgroups below it.
    func cgroupMembers(_ directory: String, depth: Int = 0) -> [Int32] {
        var pids: [Int32] = []
        if let bytes = readEntireFile(directory + "/cgroup.procs") {
            for line in bytes.split(separator: 0x0A) {
                if let pid = parseLeadingInteger(line), pid > 0, pid <= Int(Int32.max) { pids.append(Int32(pid)) }
            }
        }
        guard depth < 32, let dir = bustd_directory_open(AT_FDCWD, directory) else { return pids }
        defer { bustd_directory_close(dir) }
        var children: [String] = []
        while let name = bustd_next_subdir(dir) { children.append(String(cString: name)) }
        for child in children { pids.append(contentsOf: cgroupMembers(directory + "/" + child, depth: depth + 1)) }
        return pids
    }

    /// cgroup.kill (Linux 5.14+): SIGKILL to every process of the cgroup
    /// and below, including any forked after they were listed.
    private func writeCgroupKill(_ directory: String) {
        let fd = bustd_open(directory + "/cgroup.kill", O_WRONLY | O_NOFOLLOW, 0)
        guard fd >= 0 else { return }
        _ = write(fd, "1", 1)
        close(fd)
    }

    private func joined(_ signals: [String]) -> String {
        signals.count == 2 ? signals[0] + ", then " + signals[1] : (signals.first ?? "")
    }
}
