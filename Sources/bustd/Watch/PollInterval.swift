/// How long to sleep before the next look at memory. The headroom above the
/// SIGTERM thresholds divided by the fastest plausible fill rate (earlyoom's
/// figures: 6,000 KiB/ms for RAM, 800 KiB/ms for swap) says how soon memory
/// could run out; bustd looks again well before that. A PSI trigger wakes it
/// sooner when stalls begin, and a forecast from the measured fill rate
/// (CrossingForecast) when the crossing is due within the interval.
enum PollInterval {
    static let minimumMs = 100
    /// The shortest sleep when a forecast says the crossing is near. Looks
    /// this close together happen only when a fall seen in the last second
    /// would, at its speed, cross within 200 ms.
    static let forecastMinimumMs = 10
    static let maximumMs = 5000
    /// While pressure is at or above the cutoff, at most this long, so the
    /// PSI duration is timed finely.
    static let underPressureMs = 500

    static let ramFillKiBPerMs: Int64 = 6000
    static let swapFillKiBPerMs: Int64 = 800

    static func milliseconds(
        ramHeadroomKiB: Int64, swapHeadroomKiB: Int64, underPressure: Bool,
        forecastMs: Int64? = nil
    ) -> Int {
        let ram = max(0, ramHeadroomKiB) / ramFillKiBPerMs
        let swap = max(0, swapHeadroomKiB) / swapFillKiBPerMs
        var interval = Int(min(ram + swap, Int64(maximumMs)))
        if underPressure { interval = min(interval, underPressureMs) }
        interval = max(minimumMs, interval)
        // A forecast extrapolates a recent rate, and a hog can speed up:
        // look again halfway to the crossing, and once it is close, just
        // after it, rather than up to a whole interval past it.
        if let forecastMs, forecastMs < 2 * Int64(interval) {
            let next = forecastMs <= 2 * Int64(forecastMinimumMs) ? forecastMs + 1 : forecastMs / 2
            interval = min(interval, max(forecastMinimumMs, Int(next)))
        }
        return interval
    }

    /// Headroom in KiB above a threshold (a percentage of the total, a
    /// size, or the lower of both).
    static func headroomKiB(freeKiB: Int64, totalKiB: Int64, threshold: Limit) -> Int64 {
        freeKiB - threshold.kib(ofTotal: totalKiB)
    }

    /// With -r, the daemon wakes at least when the report is due (and
    /// never sooner than 1 ms: a report due now is written by this look).
    static func milliseconds(_ interval: Int, reportDueInMs: Int64?) -> Int {
        guard let reportDueInMs else { return interval }
        return min(interval, Int(max(1, min(reportDueInMs, Int64(interval)))))
    }
}
