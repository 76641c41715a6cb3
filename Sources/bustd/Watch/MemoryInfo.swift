import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// The /proc/meminfo fields bustd decides on, in KiB.
struct MemoryInfo: Equatable {
    var totalKiB: Int64
    var availableKiB: Int64
    var swapTotalKiB: Int64
    var swapFreeKiB: Int64
    /// MemFree: only to learn how far MemAvailable sits below it
    /// (FreeRAMReserve); 0 when the line is missing.
    var freeKiB: Int64 = 0
}

/// Parses /proc/meminfo. MemTotal and MemAvailable are required (Linux 3.14
/// or later); missing swap lines mean no swap. Unknown lines are ignored.
func parseMemoryInfo(_ bytes: UnsafeBufferPointer<UInt8>) -> MemoryInfo? {
    var total: Int64?
    var available: Int64?
    var swapTotal: Int64 = 0
    var swapFree: Int64 = 0
    var free: Int64 = 0
    for slice in bytes.split(separator: 0x0A) {
        let line = UnsafeBufferPointer(rebasing: slice)
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let key = line[0..<colon]
            let value = parseLeadingInteger(line[(colon + 1)...]).map { Int64($0) }
            if key.elementsEqual("MemTotal".utf8) {
                total = value
            } else if key.elementsEqual("MemAvailable".utf8) {
                available = value
            } else if key.elementsEqual("MemFree".utf8) {
                free = value ?? 0
            } else if key.elementsEqual("SwapTotal".utf8) {
                swapTotal = value ?? 0
            } else if key.elementsEqual("SwapFree".utf8) {
                swapFree = value ?? 0
            }
        }
    }
    guard let total, let available, total > 0 else { return nil }
    return MemoryInfo(
        totalKiB: total, availableKiB: available,
        swapTotalKiB: swapTotal, swapFreeKiB: min(swapFree, swapTotal), freeKiB: free)
}

/// Keeps /proc/meminfo open and re-reads it with one pread(2) per sample.
final class MemoryInfoReader {
    private let file: PreadFile

    init?(path: String = "/proc/meminfo") {
        guard let file = PreadFile(path: path, capacity: 8192) else { return nil }
        self.file = file
    }

    func read() -> MemoryInfo? { file.withContents(parseMemoryInfo) }
}

/// sysinfo(2): one syscall, no parsing. Its free RAM is MemFree (page cache
/// not counted). MemAvailable can be below it by the kernel's reserve
/// (FreeRAMReserve): if free RAM less that reserve is above every
/// threshold, memory is not low and /proc/meminfo need not be read.
struct QuickMemoryLook {
    var totalRAMBytes: UInt64
    var freeRAMBytes: UInt64
    var totalSwapBytes: UInt64
    var freeSwapBytes: UInt64

    static func take() -> QuickMemoryLook? {
        var info = sysinfo()
        guard sysinfo(&info) == 0 else { return nil }
        // Multiply by mem_unit before any division (it is the page size on
        // some 32-bit kernels).
        let unit = UInt64(max(info.mem_unit, 1))
        return QuickMemoryLook(
            totalRAMBytes: UInt64(info.totalram) &* unit,
            freeRAMBytes: UInt64(info.freeram) &* unit,
            totalSwapBytes: UInt64(info.totalswap) &* unit,
            freeSwapBytes: UInt64(info.freeswap) &* unit)
    }

    var freeKiB: Int64 { Int64(freeRAMBytes / 1024) }
    var totalKiB: Int64 { Int64(totalRAMBytes / 1024) }

    /// Whether this look alone proves memory is above the ceiling (every
    /// rule's threshold and band), so /proc/meminfo need not be read: only
    /// if free RAM less the kernel's reserve is.
    func saysMemoryIsFine(below ceiling: Limit, reserve: FreeRAMReserve) -> Bool {
        !ceiling.isReached(freeKiB: reserve.availableAtLeastKiB(freeKiB: freeKiB), freePercent: availableAtLeastPercent(reserve))
    }

    /// The least MemAvailable can be now, in hundredths of a percent.
    func availableAtLeastPercent(_ reserve: FreeRAMReserve) -> Int {
        percentHundredths(UInt64(reserve.availableAtLeastKiB(freeKiB: freeKiB)), of: totalRAMBytes / 1024)
    }
}

/// What the rules look at: percentages in hundredths, sizes in KiB.
struct MemoryStatus: Equatable {
    var totalKiB: Int64
    var availableKiB: Int64
    var swapTotalKiB: Int64
    var swapFreeKiB: Int64

    init(totalKiB: Int64, availableKiB: Int64, swapTotalKiB: Int64, swapFreeKiB: Int64) {
        self.totalKiB = totalKiB
        self.availableKiB = max(0, availableKiB)
        self.swapTotalKiB = swapTotalKiB
        self.swapFreeKiB = max(0, swapFreeKiB)
    }

    init(_ info: MemoryInfo) {
        self.init(
            totalKiB: info.totalKiB, availableKiB: info.availableKiB,
            swapTotalKiB: info.swapTotalKiB, swapFreeKiB: info.swapFreeKiB)
    }

    var availablePercent: Int { percentHundredths(UInt64(availableKiB), of: UInt64(max(totalKiB, 0))) }
    /// No swap at all counts as empty swap (0 %), so the memory rule can
    /// act on machines without swap.
    var swapFreePercent: Int { percentHundredths(UInt64(swapFreeKiB), of: UInt64(max(swapTotalKiB, 0))) }

    /// "available 4.2% (1.3 GiB of 31.2 GiB), swap free 0% (none)"
    var summary: String {
        let swap = swapTotalKiB == 0 ? "none" : "\(formatKiB(swapFreeKiB)) of \(formatKiB(swapTotalKiB))"
        return
            "available \(formatHundredths(availablePercent))% (\(formatKiB(availableKiB)) of \(formatKiB(totalKiB))), swap free \(formatHundredths(swapFreePercent))% (\(swap))"
    }
}
