/// After a kill, when bustd may choose the next victim.
///
/// One emergency should cost one victim, but when many processes grow at
/// once (a parallel build, a browser's tabs) one victim is not enough, and
/// a fixed pause after each kill lets the others run the machine out (the
/// kernel's OOM killer then fires anyway). So the pause ends as soon as the
/// figures show whether the kill was enough:
///
/// - at the SIGKILL threshold there is no pause: waiting is what lets the
///   kernel's OOM killer win;
/// - a victim's memory is back by the time it has exited (its pidfd polls
///   readable only after its address space is torn down), and what it
///   brought down with it (children that exit with their parent, a server
///   freeing a client's buffers) follows over the next moments. Once
///   available memory falls again below the highest figure seen since the
///   exit, the release is over and something is still growing: the kill
///   was not enough, and the next victim is chosen at once;
/// - while memory rises or holds still below a threshold, nothing is about
///   to run out: bustd lets the release show, for up to `--cooldown`,
///   before it takes another process;
/// - a victim left dying at the SIGKILL threshold has not returned its
///   memory yet: below that threshold bustd waits for its exit.
///
/// When nothing could be killed, bustd backs off: a scan finds nothing new
/// in a few milliseconds.
struct KillPacing {
    enum Verdict: Equatable {
        case act
        /// Look again in this many ms; the reason is for the verbose log.
        case wait(ms: Int, reason: String)
    }

    /// How often to look while the released memory still shows.
    static let settleLookMs = 25
    /// Nothing killable: how long before scanning again, below the SIGTERM
    /// threshold and at the SIGKILL threshold.
    static let noVictimBackoffMs: Int64 = 5000
    static let noVictimBackoffAtKillLevelMs: Int64 = 1000

    let cooldownMs: Int64

    private enum Pause {
        /// After an exit: until memory falls below the highest figure
        /// seen since (or the time is up).
        case settling(untilMs: Int64, highestKiB: Int64)
        /// After a kill that did not end in an exit, or a dry run's
        /// decision: until the time is up.
        case holding(untilMs: Int64)
    }
    private var pause: Pause?
    private var backoffUntil: (terminate: Int64, kill: Int64)?

    init(cooldownMs: Int) {
        self.cooldownMs = Int64(cooldownMs)
    }

    /// Falls smaller than this (0.1 % of memory) are the noise of the
    /// kernel's per-CPU counters, not memory being taken.
    static func noiseKiB(totalKiB: Int64) -> Int64 { max(256, totalKiB / 1024) }

    /// The victim exited (or was left dying after SIGKILL) at nowMs, with
    /// this much memory available right after.
    mutating func victimGone(nowMs: Int64, availableKiB: Int64) {
        pause = .settling(untilMs: nowMs + cooldownMs, highestKiB: availableKiB)
        backoffUntil = nil
    }

    /// A kill that ended without an exit (stuck after SIGKILL, a failure),
    /// or a dry run's decision: the next waits for the cooldown.
    mutating func killUnfinished(nowMs: Int64) {
        pause = .holding(untilMs: nowMs + cooldownMs)
        backoffUntil = nil
    }

    /// No process could be killed.
    mutating func noVictim(nowMs: Int64) {
        backoffUntil = (nowMs + KillPacing.noVictimBackoffMs, nowMs + KillPacing.noVictimBackoffAtKillLevelMs)
    }

    /// Memory is fine again: the emergency is over.
    mutating func reset() {
        pause = nil
        backoffUntil = nil
    }

    /// Whether a rule that fired may act now. `victimsDying`: victims
    /// left dying at the SIGKILL threshold that have not exited yet.
    mutating func verdict(
        urgency: Urgency, availableKiB: Int64, totalKiB: Int64, nowMs: Int64,
        victimsDying: Bool
    ) -> Verdict {
        if let backoff = backoffUntil {
            let until = urgency == .kill ? backoff.kill : backoff.terminate
            if nowMs < until { return .wait(ms: Int(until - nowMs), reason: "no process could be killed") }
            backoffUntil = nil
        }
        guard let pause else { return .act }
        switch pause {
        case .holding(let until):
            if urgency == .kill || nowMs >= until { break }
            return .wait(ms: Int(until - nowMs), reason: "the last kill did not end in an exit")
        case .settling(let until, let highest):
            if urgency == .kill || nowMs >= until { break }
            let next = min(Int(until - nowMs), KillPacing.settleLookMs)
            if victimsDying {
                self.pause = .settling(untilMs: until, highestKiB: max(highest, availableKiB))
                return .wait(ms: next, reason: "the last victim has not exited yet")
            }
            if availableKiB >= highest - KillPacing.noiseKiB(totalKiB: totalKiB) {
                self.pause = .settling(untilMs: until, highestKiB: max(highest, availableKiB))
                return .wait(ms: next, reason: "memory is not falling again yet")
            }
        }
        self.pause = nil
        return .act
    }
}
