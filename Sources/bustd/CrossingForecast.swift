/// When will memory cross the SIGTERM thresholds at the rate it is falling?
///
/// PollInterval's fixed fill rates give a 100 ms floor, which is up to 3 %
/// of RAM late for a hog that fills 300 MiB a second. The rate measured
/// between the last two looks says when the crossing will really come, so
/// the look after it can be timed to land just past it.
struct CrossingForecast {
    private var previous: (ms: Int64, ram: Int64, swap: Int64)?

    /// Forgets the previous look (the next one starts a new measurement):
    /// for looks whose figures are not comparable, such as sysinfo's.
    mutating func reset() { previous = nil }

    /// Milliseconds until both headrooms reach zero, each at the rate it
    /// fell since the previous look. nil when there is no previous look,
    /// when a headroom above zero is not falling, or when both are already
    /// at or below zero (the rules decide then, not the timer).
    mutating func millisecondsUntilCrossing(nowMs: Int64, ramHeadroomKiB: Int64, swapHeadroomKiB: Int64) -> Int64? {
        defer { previous = (nowMs, ramHeadroomKiB, swapHeadroomKiB) }
        guard let previous, nowMs > previous.ms else { return nil }
        if ramHeadroomKiB <= 0 && swapHeadroomKiB <= 0 { return nil }
        let elapsed = nowMs - previous.ms
        func untilZero(_ now: Int64, _ before: Int64) -> Int64? {
            if now <= 0 { return 0 }
            let fell = before - now
            guard fell > 0 else { return nil }
            return now.multipliedReportingOverflow(by: elapsed).overflow ? nil : now * elapsed / fell
        }
        // The rule needs both below their thresholds: the later one counts.
        guard let ram = untilZero(ramHeadroomKiB, previous.ram),
              let swap = untilZero(swapHeadroomKiB, previous.swap) else { return nil }
        return max(ram, swap)
    }
}
