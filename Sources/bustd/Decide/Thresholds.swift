import Shared

/// A threshold on a free figure (available memory or free swap): a
/// percentage of the total (-m, -s), a size (-M, -S), or both. With both,
/// the lower one applies, as in earlyoom: a 10 % default is 51 GiB on a
/// 512 GiB server, and -M 2G caps it there without changing what a small
/// machine does. So the figure reaches the threshold only when it is at or
/// below each part that is set.
///
/// Each part is compared in its own unit, so a threshold given only as a
/// percentage decides exactly as it did before sizes existed.
struct Limit: Equatable {
    /// Hundredths of a percent of the total; nil when a size was given alone.
    var percent: Int?
    /// KiB; nil without -M or -S.
    var sizeKiB: Int64?

    func isReached(freeKiB: Int64, freePercent: Int) -> Bool {
        if let percent, freePercent > percent { return false }
        if let sizeKiB, freeKiB > sizeKiB { return false }
        return true
    }

    /// The threshold in KiB of this total: the lower of the two parts.
    func kib(ofTotal totalKiB: Int64) -> Int64 {
        let fromPercent = percent.map { max(0, totalKiB) * Int64($0) / 10_000 }
        switch (fromPercent, sizeKiB) {
        case (let fromPercent?, let size?): return min(fromPercent, size)
        case (let fromPercent?, nil): return fromPercent
        case (nil, let size?): return size
        case (nil, nil): return 0
        }
    }

    /// The threshold in hundredths of a percent of this total: the
    /// percentage given when it is the lower part (so it reads as given),
    /// else the size's share of the total (at most 100 %).
    func percent(ofTotal totalKiB: Int64) -> Int {
        if let sizeKiB, percent.map({ sizeKiB < max(0, totalKiB) * Int64($0) / 10_000 }) ?? true {
            return percentHundredths(UInt64(max(0, sizeKiB)), of: UInt64(max(0, totalKiB)))
        }
        return percent ?? 0
    }

    /// "10% (3.1 GiB)": both figures, for logs and errors.
    func describe(totalKiB: Int64) -> String {
        "\(formatHundredths(percent(ofTotal: totalKiB)))% (\(formatKiB(kib(ofTotal: totalKiB))))"
    }

    /// This threshold times numerator/denominator (the warning's and the
    /// pressure gate's margins above the SIGTERM threshold). A percentage
    /// stops at 100 %; a size is already bounded by parseSize.
    func scaled(_ numerator: Int, over denominator: Int) -> Limit {
        Limit(
            percent: percent.map { min(10_000, $0 * numerator / denominator) },
            sizeKiB: sizeKiB.map { $0 * Int64(numerator) / Int64(denominator) })
    }

    /// Part by part, the higher of the two: a limit no lower than either
    /// (the quick look's ceiling over every rule).
    func higher(_ other: Limit) -> Limit {
        func pick<T: Comparable>(_ a: T?, _ b: T?) -> T? {
            guard let a else { return b }
            guard let b else { return a }
            return max(a, b)
        }
        return Limit(percent: pick(percent, other.percent), sizeKiB: pick(sizeKiB, other.sizeKiB))
    }
}

/// A figure's SIGTERM and SIGKILL thresholds.
struct Limits: Equatable {
    var terminate: Limit
    var kill: Limit

    /// earlyoom's rule for -m with -M (and -s with -S): a percentage alone
    /// or a size alone applies as given; both given, the lower applies. A
    /// size given alone replaces the default percentage.
    init(percent: Thresholds, percentGiven: Bool, size: SizeThresholds?) {
        let usePercent = size == nil || percentGiven
        terminate = Limit(percent: usePercent ? percent.terminate : nil, sizeKiB: size?.terminate)
        kill = Limit(percent: usePercent ? percent.kill : nil, sizeKiB: size?.kill)
    }

    init(terminate: Limit, kill: Limit) {
        self.terminate = terminate
        self.kill = kill
    }
}

extension MemoryStatus {
    func availableReaches(_ limit: Limit) -> Bool { limit.isReached(freeKiB: availableKiB, freePercent: availablePercent) }
    func swapFreeReaches(_ limit: Limit) -> Bool { limit.isReached(freeKiB: swapFreeKiB, freePercent: swapFreePercent) }

    /// "4.2% (1.3 GiB)"
    var availableText: String { "\(formatHundredths(availablePercent))% (\(formatKiB(availableKiB)))" }
    var swapFreeText: String { "\(formatHundredths(swapFreePercent))% (\(formatKiB(swapFreeKiB)))" }
}
