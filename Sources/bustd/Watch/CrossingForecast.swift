/// When will memory cross the SIGTERM thresholds at the rate it is falling?
///
/// PollInterval's fixed fill rates give a 100 ms floor, which is up to 3 %
/// of RAM late for a hog that fills 300 MiB a second. The rate measured
/// over recent looks says when the crossing could really come, so the next
/// look can be timed to land close to it.
///
/// Two things make the latest rate a poor guide, both seen in the e2e guest:
/// the kernel folds its per-CPU page counters into /proc/meminfo in batches,
/// so over a few ms the figures jump or stand still; and near the low
/// watermark a hog pauses in reclaim for 100 ms or more, then resumes at
/// full speed. So the forecast plans for the fastest fall seen over any
/// window of at least `shortestWindowMs` in the last `rememberedMs`.
struct CrossingForecast {
    private typealias Look = (ms: Int64, ram: Int64, swap: Int64)
    /// Recent looks whose figures differed from the look before, oldest
    /// first: a look with figures that did not move adds nothing, and the
    /// time the figures were first seen is the one that counts.
    private var looks: [Look] = []
    static let shortestWindowMs: Int64 = 100
    static let rememberedMs: Int64 = 1000
    private static let kept = 16

    /// Forgets the previous looks (the next one starts a new measurement):
    /// for looks whose figures are not comparable, such as sysinfo's.
    mutating func reset() { looks.removeAll() }

    /// Milliseconds until both headrooms could reach zero, each at the
    /// fastest rate it recently fell. nil when there is no earlier look,
    /// when a headroom above zero has not been falling, or when both are
    /// already at or below zero (the rules decide then, not the timer).
    mutating func millisecondsUntilCrossing(nowMs: Int64, ramHeadroomKiB: Int64, swapHeadroomKiB: Int64) -> Int64? {
        let now: Look = (nowMs, ramHeadroomKiB, swapHeadroomKiB)
        looks.removeAll { nowMs - $0.ms > CrossingForecast.rememberedMs }
        let points = looks + [now]
        if looks.last.map({ $0.ram != ramHeadroomKiB || $0.swap != swapHeadroomKiB }) ?? true {
            looks.append(now)
            if looks.count > CrossingForecast.kept { looks.removeFirst() }
        }
        if ramHeadroomKiB <= 0 && swapHeadroomKiB <= 0 { return nil }
        guard let ram = untilZero(ramHeadroomKiB, fastestFall(points) { $0.ram }),
            let swap = untilZero(swapHeadroomKiB, fastestFall(points) { $0.swap })
        else { return nil }
        // The rule needs both below their thresholds: the later one counts.
        return max(ram, swap)
    }

    /// KiB per ms, the fastest fall between two of the points at least
    /// shortestWindowMs apart (or, when none are, as far apart as they go).
    private func fastestFall(_ points: [Look], _ figure: (Look) -> Int64) -> Double? {
        guard let first = points.first, let last = points.last, last.ms > first.ms else { return nil }
        let window = min(CrossingForecast.shortestWindowMs, last.ms - first.ms)
        var fastest: Double?
        for (i, earlier) in points.enumerated() {
            for later in points[(i + 1)...] where later.ms - earlier.ms >= window {
                let rate = (Double(figure(earlier)) - Double(figure(later))) / Double(later.ms - earlier.ms)
                if rate > (fastest ?? 0) { fastest = rate }
            }
        }
        return fastest
    }

    private func untilZero(_ headroom: Int64, _ rate: Double?) -> Int64? {
        if headroom <= 0 { return 0 }
        guard let rate else { return nil }
        let ms = Double(headroom) / rate
        return ms < 1e15 ? Int64(ms) : nil
    }
}
