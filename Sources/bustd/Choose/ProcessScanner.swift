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

    /// Ranks higher: larger rank, then larger RSS, then the older pid.
    func outranks(_ other: Candidate) -> Bool {
        if rank != other.rank { return rank > other.rank }
        if residentKiB != other.residentKiB { return residentKiB > other.residentKiB }
        return pid < other.pid
    }
}

struct ScanResult {
    var victim: Candidate?
    /// Processes looked at (pids listed).
    var scanned = 0
    /// Processes that vanished or could not be read mid-scan.
    var vanished = 0
    var elapsedMs: Int64 = 0
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
/// kernel threads, zombies, oom_score_adj -1000, the never-kill list and,
/// with --ignore-root-user, root's processes. A process that vanishes
/// mid-scan is skipped: that is normal, most of all in an emergency.
final class ProcessScanner {
    let proc: ProcDirectory
    let policy: VictimPolicy
    private let pageKiB: Int64
    private var directory: OpaquePointer?

    init(proc: ProcDirectory, policy: VictimPolicy) {
        self.proc = proc
        self.policy = policy
        self.pageKiB = Int64(max(sysconf(Int32(_SC_PAGESIZE)), 4096) / 1024)
    }

    deinit { if let directory { closedir(directory) } }

    func scan(_ source: ProcessSource) -> ScanResult {
        let started = bustd_monotonic_ms()
        var result = ScanResult()
        switch source {
        case .list(let pids):
            for pid in pids { consider(pid, &result) }
        case .all:
            guard let dir = openDirectory() else { break }
            rewinddir(dir)
            while true {
                let pid = bustd_next_pid(dir)
                if pid < 0 { break }
                consider(pid, &result)
            }
        }
        result.elapsedMs = bustd_monotonic_ms() - started
        return result
    }

    /// The proc directory stream, opened once and rewound for each scan.
    private func openDirectory() -> OpaquePointer? {
        if directory == nil {
            let fd = dup(proc.fd)
            guard fd >= 0 else { return nil }
            directory = fdopendir(fd)
            if directory == nil { close(fd) }
        }
        return directory
    }

    private func consider(_ pid: Int32, _ result: inout ScanResult) {
        result.scanned += 1
        guard pid > 1, pid != policy.ownPID else { return }
        guard let stat = proc.withFile(pid: pid, "stat", limit: 1024, parseProcessStat) else {
            result.vanished += 1
            return
        }
        guard !stat.isZombie, !stat.isKernelThread, pid != 2 else { return }
        guard let oomScore = proc.readInteger(pid: pid, "oom_score") else {
            result.vanished += 1
            return
        }
        var candidate = Candidate(
            pid: pid, uid: 0, stat: stat, oomScore: oomScore, oomScoreAdj: 0,
            rank: oomScore + policy.bonus(forName: stat.name),
            residentKiB: stat.residentPages * pageKiB)
        // The costlier checks run only for a process that would win.
        if let best = result.victim, !candidate.outranks(best) { return }
        guard let adj = proc.readInteger(pid: pid, "oom_score_adj") else {
            result.vanished += 1
            return
        }
        guard adj > -1000 else { return }
        candidate.oomScoreAdj = adj
        guard let uid = proc.ownerUID(pid: pid) else {
            result.vanished += 1
            return
        }
        candidate.uid = uid
        if policy.ignoreRootUser && uid == 0 { return }
        if isUnkillable(pid: pid, name: stat.name) { return }
        result.victim = candidate
    }

    private func isUnkillable(pid: Int32, name: [UInt8]) -> Bool {
        guard !policy.unkillables.isEmpty else { return false }
        if policy.unkillables.matches(name) { return true }
        if let exe = proc.readLink(pid: pid, "exe"), policy.unkillables.matches(stripDeleted(exe)) { return true }
        return false
    }
}

/// "/usr/bin/foo (deleted)" → "/usr/bin/foo": an upgraded binary keeps its
/// protection.
func stripDeleted(_ path: [UInt8]) -> [UInt8] {
    let suffix = Array(" (deleted)".utf8)
    guard path.count > suffix.count, Array(path.suffix(suffix.count)) == suffix else { return path }
    return Array(path.dropLast(suffix.count))
}
