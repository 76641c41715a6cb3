import Foundation
import Testing

/// What the running daemon keeps resident (a dry run on this machine): the
/// kill path only near a rule (KillReadiness), and a heap malloc_trim can
/// compact (glibc's tcache off).
@Suite(.serialized) struct ResidencyIntegrationTests {
    /// A SIGTERM threshold (whole percent) that puts this machine inside
    /// the band where the kill path is kept ready (available memory at or
    /// below twice the threshold) while no rule fires: just above half of
    /// what is available now.
    static func readyBandThreshold() throws -> Int {
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        func kib(_ key: String) -> Double {
            let line = meminfo.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        let available = Int(kib("MemAvailable") * 100 / kib("MemTotal"))
        return available / 2 + 1
    }

    static func rollup(_ pid: Int32, _ key: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(key + ":") })
        return try #require(Int(line.split(separator: " ")[1]))
    }

    @Test func killPathIsMadeReadyNearARuleAndNotWhileMemoryIsFine() throws {
        let threshold = try Self.readyBandThreshold()
        try #require(threshold >= 6, "this machine has too little memory available for the test")
        // -m 2: ready only below 4 % available, far from this machine.
        let idle = try DaemonRun(["-n", "--dry-run", "-V", "-m", "2"])
        let near = try DaemonRun(["-n", "--dry-run", "-V", "-m", String(threshold)])
        try idle.waitForLine(containing: "program text dropped")
        let ready = try near.waitForLine(containing: "kill path made ready")
        #expect(ready.contains("memory near a rule"), "\(ready)")
        usleep(1_500_000)
        #expect(!idle.log.contains("kill path made ready"), "\(idle.log)")
        #expect(!near.log.contains("would kill"), "a rule fired: \(near.log)")
        // The ready daemon holds the kill path's code and buffers; the
        // idle one only its loop.
        let idleKiB = try Self.rollup(idle.process.processIdentifier, "Rss")
        let readyKiB = try Self.rollup(near.process.processIdentifier, "Rss")
        #expect(readyKiB > idleKiB + 64, "resident: idle \(idleKiB) kB, ready \(readyKiB) kB")
        #expect(idle.stop() == 0 && near.stop() == 0)
    }

    @Test func startsItselfAgainWithGlibcsCacheOffUnlessTheCallerSetItsTunables() throws {
        func environment(of run: DaemonRun) throws -> [String] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(run.process.processIdentifier)/environ"))
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
        let plain = try DaemonRun(["-n", "--dry-run"])
        try plain.waitForLine(containing: "started")
        // /proc/PID/environ shows the environment the running image was
        // started with: the restart's, same pid.
        #expect(try environment(of: plain).contains("GLIBC_TUNABLES=glibc.malloc.tcache_count=0"))
        let own = try DaemonRun(["-n", "--dry-run"], environment: ["GLIBC_TUNABLES": "glibc.malloc.perturb=0"])
        try own.waitForLine(containing: "started")
        let tunables = try environment(of: own).filter { $0.hasPrefix("GLIBC_TUNABLES=") }
        #expect(tunables == ["GLIBC_TUNABLES=glibc.malloc.perturb=0"])
        #expect(plain.stop() == 0 && own.stop() == 0)
    }
}
