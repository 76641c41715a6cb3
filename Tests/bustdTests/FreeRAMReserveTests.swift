import Foundation
import Shared
import Testing

@testable import bustd

/// The quick look may call memory fine only with the kernel's reserve taken
/// off sysinfo's free RAM: MemAvailable sits that far below MemFree once
/// the page cache is gone (5 % of a 1 GiB guest, seen with twelve growers).
@Suite struct FreeRAMReserveTests {
    /// Two zones as a 2-CPU kernel prints them, with per-CPU "high:" lines
    /// that must not be taken for the zone's high watermark.
    static let zoneinfo = """
        Node 0, zone      DMA
          per-node stats
              nr_inactive_anon 100
          pages free     3840
                boost    0
                min      21
                low      30
                high     39
                spanned  4095
                present  3998
                managed  3840
                cma      0
                protection: (0, 3018, 9162, 9162, 9162)
              nr_free_pages 3840
          pagesets
            cpu: 0
                      count: 0
                      high:  0
                      batch: 1
        Node 0, zone    DMA32
          pages free     60000
                high     8335
                managed  772798
                protection: (0, 0, 6144, 6144, 6144)
            cpu: 0
                      high:  3473
        Node 0, zone   Normal
          pages free     0
                high     0
                spanned  0
                present  0
                managed  0
                protection: (0, 0, 0, 0, 0)
        """

    @Test func theReserveIsEachZonesHighWatermarkAndLargestProtectionCappedAtItsPages() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zoneinfo-\(UUID())").path
        try Self.zoneinfo.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let pageKiB = Int64(sysconf(Int32(_SC_PAGESIZE)) / 1024)
        let reserve = FreeRAMReserve.read(totalKiB: 1_000_000, path: path)
        // DMA: min(39 + 9162, 3840) = 3840; DMA32: 8335 + 6144; Normal: 0.
        #expect(reserve.kiB == (3840 + 8335 + 6144) * pageKiB)
    }

    @Test func withoutZoneinfoATenthOfRAM() {
        #expect(FreeRAMReserve.read(totalKiB: 1_000_000, path: "/nonexistent/zoneinfo").kiB == 100_000)
    }

    @Test func thisMachinesZoneinfoGivesAReserve() {
        let reserve = FreeRAMReserve.read(totalKiB: 1 << 40)
        #expect(reserve.kiB > 0 && reserve.kiB < (1 << 40) / 10, "\(reserve.kiB)")
    }

    @Test func aWiderGapSeenInMeminfoRaisesIt() {
        var reserve = FreeRAMReserve(zoneinfoKiB: 50_000, totalKiB: 1_000_000)
        reserve.learn(freeKiB: 300_000, availableKiB: 900_000)  // page cache: no gap
        #expect(reserve.kiB == 50_000)
        reserve.learn(freeKiB: 245_000, availableKiB: 191_000)
        #expect(reserve.kiB == 54_000)
        #expect(reserve.availableAtLeastKiB(freeKiB: 245_000) == 191_000)
        #expect(reserve.availableAtLeastKiB(freeKiB: 10_000) == 0)
    }

    /// The guest's figures: free RAM 24.5 %, MemAvailable 19.1 %. Free RAM
    /// alone is above the 20 % ceiling; less the reserve it is not.
    @Test func theQuickLookNoLongerCallsTheGuestsMemoryFine() {
        let total: UInt64 = 981_464
        let look = QuickMemoryLook(
            totalRAMBytes: total * 1024, freeRAMBytes: 240_459 * 1024, totalSwapBytes: 0, freeSwapBytes: 0)
        let reserve = FreeRAMReserve(zoneinfoKiB: 53_000, totalKiB: Int64(total))
        #expect(look.freeRAMBytes * 100 / look.totalRAMBytes > 20, "free RAM alone is above the ceiling")
        #expect(look.availableAtLeastPercent(reserve) <= 2000)
        // What Monitor.step asks: not fine at the default 20 % ceiling, so
        // the look reads /proc/meminfo; fine with more free RAM.
        let ceiling = Limit(percent: 2000, sizeKiB: nil)
        #expect(!look.saysMemoryIsFine(below: ceiling, reserve: reserve))
        var roomier = look
        roomier.freeRAMBytes = 300_000 * 1024
        #expect(roomier.saysMemoryIsFine(below: ceiling, reserve: reserve))
    }
}
