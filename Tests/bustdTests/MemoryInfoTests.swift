import Foundation
import Testing

@testable import bustd

@Suite struct MemoryInfoTests {
    let sample = """
        MemTotal:       16000000 kB
        MemFree:          500000 kB
        MemAvailable:    1600000 kB
        Buffers:           10000 kB
        SwapCached:            0 kB
        SwapTotal:       4000000 kB
        SwapFree:        1000000 kB

        """

    @Test func parsesTheFourFieldsAndMemFree() throws {
        let info = try #require(withBytes(sample) { parseMemoryInfo($0) })
        #expect(
            info
                == MemoryInfo(
                    totalKiB: 16_000_000, availableKiB: 1_600_000, swapTotalKiB: 4_000_000, swapFreeKiB: 1_000_000, freeKiB: 500_000))
        let status = MemoryStatus(info)
        #expect(status.availablePercent == 1000)
        #expect(status.swapFreePercent == 2500)
    }

    @Test func missingSwapMeansNoSwapWhichCountsAsEmpty() throws {
        let info = try #require(withBytes("MemTotal: 1000 kB\nMemAvailable: 900 kB\n") { parseMemoryInfo($0) })
        #expect(info.swapTotalKiB == 0)
        #expect(MemoryStatus(info).swapFreePercent == 0)
    }

    @Test func missingMemAvailableOrGarbageIsRejected() {
        #expect(withBytes("MemTotal: 1000 kB\nMemFree: 900 kB\n") { parseMemoryInfo($0) } == nil)
        #expect(withBytes("MemTotal: 0 kB\nMemAvailable: 0 kB\n") { parseMemoryInfo($0) } == nil)
        #expect(withBytes("") { parseMemoryInfo($0) } == nil)
        #expect(withBytes("\u{0}\u{1}garbage") { parseMemoryInfo($0) } == nil)
    }

    /// One descriptor, each read from the start: the second read sees what
    /// the file says now (rewritten in place, as /proc/meminfo changes
    /// under the same descriptor), not the end of the first read.
    @Test func readsTwiceThroughOneDescriptorAndSeesTheNewFigures() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("meminfo-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try sample.write(toFile: path, atomically: false, encoding: .utf8)
        let reader = try #require(MemoryInfoReader(path: path))
        #expect(reader.read()?.availableKiB == 1_600_000)
        // Same length, same file: written over through another descriptor.
        let rewritten = sample.replacingOccurrences(of: "MemAvailable:    1600000 kB", with: "MemAvailable:     800000 kB")
        #expect(rewritten.utf8.count == sample.utf8.count)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data(rewritten.utf8))
        try handle.close()
        #expect(reader.read()?.availableKiB == 800_000)
        // And the real file, twice.
        let real = try #require(MemoryInfoReader())
        #expect(real.read() != nil && real.read() != nil)
    }

    @Test func quickLookMultipliesByMemUnit() throws {
        let look = try #require(QuickMemoryLook.take())
        let info = try #require(MemoryInfoReader()?.read())
        // sysinfo's total in bytes matches MemTotal in KiB (within 1 %).
        let total = Int64(look.totalRAMBytes / 1024)
        #expect(abs(total - info.totalKiB) * 100 <= info.totalKiB)
        #expect(look.freeRAMBytes <= look.totalRAMBytes)
    }
}
