/// The best candidates of the latest scan, kept fresh while memory is near
/// the thresholds, so that a decision needs only a re-rank of a few
/// processes (ProcessScanner.rerank) instead of a scan of all of them.
///
/// Why: a scan opens two files per process, and under reclaim every open
/// can stall (the e2e guest measured 91 processes in 941 ms at 0 %
/// available, against 9-18 ms once memory was back). Scanning ahead, while
/// memory is merely near, keeps that cost off the path from the decision
/// to the signal. The details the kill line and event show (command line,
/// executable, swap) are read ahead for the head too: reading another
/// process's command line may have to page it back in.
struct Shortlist {
    /// Refresh this often while memory is near the thresholds.
    static let refreshEveryMs: Int64 = 500
    /// At a decision, a shortlist older than this is not trusted: scan.
    static let usableForMs: Int64 = 2000
    /// How many of the head's details are read ahead.
    static let detailsAhead = 2

    private(set) var members: [Candidate] = []
    private(set) var scannedAtMs: Int64?
    private var details: [(pid: Int32, startTime: UInt64, details: VictimDetails)] = []

    func isDue(nowMs: Int64) -> Bool {
        scannedAtMs.map { nowMs - $0 >= Shortlist.refreshEveryMs } ?? true
    }

    func isUsable(nowMs: Int64) -> Bool {
        !members.isEmpty && (scannedAtMs.map { nowMs - $0 < Shortlist.usableForMs } ?? false)
    }

    /// A full scan's result, with the head's details read now.
    mutating func refresh(_ scan: ScanResult, nowMs: Int64, readDetails: (Candidate) -> VictimDetails) {
        members = scan.ranked
        scannedAtMs = nowMs
        var kept: [(pid: Int32, startTime: UInt64, details: VictimDetails)] = []
        for member in members.prefix(Shortlist.detailsAhead) {
            kept.append(
                cached(member).map { (member.pid, member.stat.startTime, $0) }
                    ?? (member.pid, member.stat.startTime, readDetails(member)))
        }
        details = kept
    }

    /// A re-rank's result: the same processes on fresh figures (the scan
    /// time stays: no new process was looked for).
    mutating func reranked(_ result: ScanResult) {
        members = result.ranked
    }

    /// The victim is gone (or going): not a member any more.
    mutating func remove(_ victim: Candidate) {
        members.removeAll { $0.pid == victim.pid && $0.stat.startTime == victim.stat.startTime }
    }

    /// Forget it all: the next decision scans.
    mutating func clear() {
        members = []
        scannedAtMs = nil
        details = []
    }

    /// Details read ahead for this very process, if any.
    func cached(_ candidate: Candidate) -> VictimDetails? {
        details.first { $0.pid == candidate.pid && $0.startTime == candidate.stat.startTime }?.details
    }
}
