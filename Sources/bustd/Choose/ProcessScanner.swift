import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// A process that may be killed, as seen during one scan.
struct Candidate {
    var pid: Int32
    var uid: UInt32
    var stat: ProcessStat
    var oomScore: Int
    var oomScoreAdj: Int
    /// oom_score moved by --prefer/--avoid: the ranking key.
    var rank: Int
    var residentKiB: Int64
    /// Its cgroup (nil when unreadable, or no cgroup v2 or systemd tree).
    var cgroup: CgroupMembership? = nil
    /// Chosen only after every other candidate: its unit asked to be
    /// avoided (ManagedOOMPreference=avoid), or it is the last process of
    /// a login session.
    var lastResort: String? = nil
    /// Its own user asked (in a cgroup that user owns) to avoid or omit it:
    /// that reorders only among the same user's processes.
    var ownersPreference: OomdPreference = .none

    /// Ranks higher: not a last resort, then larger rank, then, on equal
    /// rank, a user's background work and apps before anything else and
    /// their session last, then the larger RSS, then the older pid.
    func outranks(_ other: Candidate) -> Bool {
        if (lastResort == nil) != (other.lastResort == nil) { return lastResort == nil }
        if rank != other.rank { return rank > other.rank }
        let order = cgroup?.tieOrder ?? 1
        let otherOrder = other.cgroup?.tieOrder ?? 1
        if order != otherOrder { return order > otherOrder }
        if residentKiB != other.residentKiB { return residentKiB > other.residentKiB }
        return pid < other.pid
    }
}

struct ScanResult {
    /// The best candidates, best first: at most ProcessScanner.shortlistSize.
    var ranked: [Candidate] = []
    /// Processes looked at (pids listed).
    var scanned = 0
    /// Processes that vanished or could not be read mid-scan.
    var vanished = 0
    var elapsedMs: Int64 = 0

    /// The process to kill: the best candidate.
    var victim: Candidate? { ranked.first }

    /// Keeps the best `limit` candidates, best first.
    mutating func offer(_ candidate: Candidate, limit: Int) {
        var index = ranked.count
        while index > 0 && candidate.outranks(ranked[index - 1]) { index -= 1 }
        guard index < limit else { return }
        ranked.insert(candidate, at: index)
        if ranked.count > limit { ranked.removeLast() }
    }

    /// Whether a candidate would make the list at all.
    func wouldRank(_ candidate: Candidate, limit: Int) -> Bool {
        ranked.count < limit || candidate.outranks(ranked[ranked.count - 1])
    }

    /// A user's own ManagedOOMPreference= (set in a cgroup that user owns)
    /// counts among that user's processes only, as systemd-oomd counts it
    /// within the user's own tree: if the first candidate is one its owner
    /// asked to avoid or omit, that user's best other candidate goes first.
    /// Against other users' processes it counts for nothing.
    mutating func honourOwnersPreference() {
        guard let first = ranked.first, first.ownersPreference != .none,
            let index = ranked.firstIndex(where: { $0.uid == first.uid && $0.ownersPreference == .none })
        else { return }
        let substitute = ranked.remove(at: index)
        ranked.insert(substitute, at: 0)
    }
}

/// Which pids a scan looks at.
enum ProcessSource {
    /// Every numeric entry of the proc directory.
    case all
    /// A fixed list (the pids of a --scope cgroup).
    case list([Int32])
}

/// Finds the process to kill: the highest oom_score (moved by
/// --prefer/--avoid), ties to the larger RSS. Skips bustd itself, pid 1,
/// kernel threads, zombies, oom_score_adj -1000, protected processes
/// (ProtectionPolicy, and units that asked to be omitted) and, with
/// --ignore-root-user, root's processes. A process that vanishes mid-scan
/// is skipped: that is normal, most of all in an emergency.
///
/// A scan keeps the best few (the shortlist), not just the best: near the
/// thresholds the Monitor scans ahead of the decision, and at the decision
/// only re-reads the shortlist (`rerank`), which is a few files instead of
/// two per process, read while memory is at its scarcest.
final class ProcessScanner {
    let proc: ProcDirectory
    let policy: VictimPolicy
    private let pageKiB: Int64
    private var directory: UnsafeMutablePointer<BustdDirectory>?
    /// Says once per process why it was spared.
    let protectedLog = ProtectedProcessLog()
    /// How many candidates a scan keeps.
    static let shortlistSize = 8

    init(proc: ProcDirectory, policy: VictimPolicy) {
        self.proc = proc
        self.policy = policy
        self.pageKiB = Int64(max(sysconf(Int32(_SC_PAGESIZE)), 4096) / 1024)
    }

    deinit { bustd_directory_close(directory) }

    /// excluding: processes never to choose again (victims already dying).
    func scan(_ source: ProcessSource, excluding: [(pid: Int32, startTime: UInt64)] = []) -> ScanResult {
        let started = bustd_monotonic_ms()
        var result = ScanResult()
        result.ranked.reserveCapacity(ProcessScanner.shortlistSize + 1)
        switch source {
        case .list(let pids):
            for pid in pids { consider(pid, &result, excluding: excluding) }
        case .all:
            guard let dir = openDirectory() else { break }
            bustd_directory_rewind(dir)
            while true {
                let pid = bustd_next_pid(dir)
                if pid < 0 { break }
                consider(pid, &result, excluding: excluding)
            }
        }
        result.elapsedMs = bustd_monotonic_ms() - started
        result.honourOwnersPreference()
        return result
    }

    /// A scan done a slice at a time: `advance` looks at processes until
    /// its time budget is spent and picks up there at the next call. The
    /// Monitor scans ahead this way, between looks at memory, so that no
    /// look near a threshold waits for a whole scan (in the e2e guest, with
    /// twelve processes growing at once, one scan took up to 160 ms, and
    /// memory fell 5 % meanwhile).
    final class Pass {
        fileprivate var result = ScanResult()
        fileprivate var pending: [Int32]?
        fileprivate var listed = 0
        fileprivate let excluding: [(pid: Int32, startTime: UInt64)]
        /// Time spent on it so far.
        fileprivate(set) var elapsedMs: Int64 = 0

        fileprivate init(pending: [Int32]?, excluding: [(pid: Int32, startTime: UInt64)]) {
            self.pending = pending
            self.excluding = excluding
            result.ranked.reserveCapacity(ProcessScanner.shortlistSize + 1)
        }
    }

    /// Starts a pass. A full scan (`scan`) in between restarts the /proc
    /// listing it reads: drop the pass then.
    func beginPass(_ source: ProcessSource, excluding: [(pid: Int32, startTime: UInt64)] = []) -> Pass {
        switch source {
        case .list(let pids): return Pass(pending: pids, excluding: excluding)
        case .all:
            if let dir = openDirectory() { bustd_directory_rewind(dir) }
            return Pass(pending: nil, excluding: excluding)
        }
    }

    /// Continues the pass for about budgetMs; its result once it is done.
    func advance(_ pass: Pass, budgetMs: Int64) -> ScanResult? {
        let started = bustd_monotonic_ms()
        defer { pass.elapsedMs += bustd_monotonic_ms() - started }
        while bustd_monotonic_ms() - started < budgetMs {
            let pid: Int32
            if let pending = pass.pending {
                guard pass.listed < pending.count else { return finish(pass, sliceStartedMs: started) }
                pid = pending[pass.listed]
                pass.listed += 1
            } else {
                guard let dir = openDirectory() else { return finish(pass, sliceStartedMs: started) }
                pid = bustd_next_pid(dir)
                if pid < 0 { return finish(pass, sliceStartedMs: started) }
            }
            consider(pid, &pass.result, excluding: pass.excluding)
        }
        return nil
    }

    private func finish(_ pass: Pass, sliceStartedMs: Int64) -> ScanResult {
        var result = pass.result
        result.elapsedMs = pass.elapsedMs + bustd_monotonic_ms() - sliceStartedMs
        result.honourOwnersPreference()
        return result
    }

    /// Ranks an earlier scan's shortlist again on fresh figures: for each
    /// member its stat (still the same process, its RSS now) and oom_score
    /// are re-read, and the eligibility checks run again, so the result is
    /// what a full scan would say of these processes now. Members that
    /// exited or changed identity drop out.
    func rerank(_ shortlist: [Candidate], excluding: [(pid: Int32, startTime: UInt64)] = []) -> ScanResult {
        let started = bustd_monotonic_ms()
        var result = ScanResult()
        result.ranked.reserveCapacity(ProcessScanner.shortlistSize + 1)
        for member in shortlist {
            result.scanned += 1
            guard let candidate = evaluate(member.pid, excluding: excluding, known: member, result: &result) else { continue }
            result.offer(candidate, limit: ProcessScanner.shortlistSize)
        }
        result.elapsedMs = bustd_monotonic_ms() - started
        result.honourOwnersPreference()
        return result
    }

    /// The proc directory, opened once and rewound for each scan.
    private func openDirectory() -> UnsafeMutablePointer<BustdDirectory>? {
        if directory == nil { directory = bustd_directory_open(proc.fd, ".") }
        return directory
    }

    private func consider(_ pid: Int32, _ result: inout ScanResult, excluding: [(pid: Int32, startTime: UInt64)]) {
        result.scanned += 1
        guard let candidate = evaluate(pid, excluding: excluding, known: nil, result: &result) else { return }
        result.offer(candidate, limit: ProcessScanner.shortlistSize)
    }

    /// The candidate pid is now, or nil if it may not be chosen (or would
    /// not make the list, or vanished). known: the same process as the
    /// shortlist saw it at most Shortlist.usableForMs ago; its identity
    /// (cgroup, executable, unit preferences) is taken from there rather
    /// than read again, because at a decision those reads are what delays
    /// the signal: a stat of the executable can wait on its filesystem,
    /// and under reclaim every read costs more. What can change in that
    /// time and matters is read again: rank, oom_score_adj, owner.
    private func evaluate(
        _ pid: Int32, excluding: [(pid: Int32, startTime: UInt64)], known: Candidate?,
        result: inout ScanResult
    ) -> Candidate? {
        let startTime = known?.stat.startTime
        guard pid > 1, pid != policy.ownPID else { return nil }
        guard let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat) else {
            result.vanished += 1
            return nil
        }
        if let startTime, stat.startTime != startTime { return nil }
        guard !stat.isZombie, !stat.isKernelThread, pid != 2 else { return nil }
        if excluding.contains(where: { $0.pid == pid && $0.startTime == stat.startTime }) { return nil }
        guard let oomScore = proc.readInteger(pid: pid, "oom_score") else {
            result.vanished += 1
            return nil
        }
        var candidate = Candidate(
            pid: pid, uid: 0, stat: stat, oomScore: oomScore, oomScoreAdj: 0,
            rank: oomScore + policy.bonus(forName: stat.name),
            residentKiB: stat.residentPages * pageKiB)
        // The costlier checks run only for a process that would make the list.
        guard result.wouldRank(candidate, limit: ProcessScanner.shortlistSize) else { return nil }
        guard let adj = proc.readInteger(pid: pid, "oom_score_adj") else {
            result.vanished += 1
            return nil
        }
        guard adj > -1000 else { return nil }
        candidate.oomScoreAdj = adj
        guard let uid = proc.ownerUID(pid: pid) else {
            result.vanished += 1
            return nil
        }
        candidate.uid = uid
        if policy.ignoreRootUser && uid == 0 { return nil }
        if let known, known.uid == uid {
            candidate.cgroup = known.cgroup
            candidate.ownersPreference = known.ownersPreference
            candidate.lastResort = known.lastResort
            return candidate
        }
        candidate.cgroup = proc.withFile(pid: pid, "cgroup", limit: 4096, CgroupMembership.parse)
        if let reason = protectionReason(candidate) {
            protectedLog.note(pid: pid, startTime: stat.startTime, name: stat.name, reason: reason)
            return nil
        }
        if let cgroup = candidate.cgroup, let tree = policy.cgroupTree {
            let (preference, ownersOnly) = tree.oomdPreference(of: cgroup, uid: uid)
            if ownersOnly {
                candidate.ownersPreference = preference
            } else if preference == .omit {
                protectedLog.note(
                    pid: pid, startTime: stat.startTime, name: stat.name,
                    reason: "its unit asked to be left alone (ManagedOOMPreference=omit)")
                return nil
            } else if preference == .avoid {
                candidate.lastResort = "its unit asked to be avoided (ManagedOOMPreference=avoid)"
            }
            if candidate.lastResort == nil, cgroup.isSessionScope, tree.isLastProcess(pid, of: cgroup) {
                candidate.lastResort = "it is the last process of its login session"
            }
        }
        return candidate
    }

    /// Why pid may not be signalled as part of a bigger kill (its process
    /// group, its unit), or nil: the same rules as for a victim, except
    /// that rank does not matter.
    func whyNotSignal(_ pid: Int32) -> String? {
        if pid <= 1 || pid == policy.ownPID { return pid == policy.ownPID ? "it is bustd" : "it is pid 1" }
        guard let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat) else { return "it is gone" }
        if stat.isKernelThread { return "it is a kernel thread" }
        guard let adj = proc.readInteger(pid: pid, "oom_score_adj"), let uid = proc.ownerUID(pid: pid) else { return "it is gone" }
        if adj <= -1000 { return "its oom_score_adj is -1000" }
        if policy.ignoreRootUser && uid == 0 { return "it is root's (--ignore-root-user)" }
        var candidate = Candidate(
            pid: pid, uid: uid, stat: stat, oomScore: 0, oomScoreAdj: adj, rank: 0,
            residentKiB: stat.residentPages * pageKiB)
        candidate.cgroup = proc.withFile(pid: pid, "cgroup", limit: 4096, CgroupMembership.parse)
        if let reason = protectionReason(candidate) { return reason }
        if let cgroup = candidate.cgroup, let tree = policy.cgroupTree {
            let (preference, ownersOnly) = tree.oomdPreference(of: cgroup, uid: uid)
            if preference == .omit && !ownersOnly { return "its unit asked to be left alone (ManagedOOMPreference=omit)" }
        }
        return nil
    }

    /// Why a candidate may not be chosen (ProtectionPolicy), or nil.
    func protectionReason(_ candidate: Candidate) -> String? {
        let executable = Executable.read(pid: candidate.pid, proc: proc)
        return policy.protection.reason(
            uid: candidate.uid, name: candidate.stat.name, executable: executable,
            cgroup: candidate.cgroup, heldKiB: candidate.residentKiB)
    }

}

/// "/usr/bin/foo (deleted)" → "/usr/bin/foo": an upgraded binary keeps its
/// protection.
func stripDeleted(_ path: [UInt8]) -> [UInt8] {
    let suffix = Array(" (deleted)".utf8)
    guard path.count > suffix.count, Array(path.suffix(suffix.count)) == suffix else { return path }
    return Array(path.dropLast(suffix.count))
}
