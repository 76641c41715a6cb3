import Foundation
import Testing

/// The built daemon with -r and -M: report lines at the interval, and a
/// decision by an absolute threshold naming the rule and both figures.
@Suite(.serialized) struct ThresholdIntegrationTests {
    /// MemTotal and MemAvailable of this machine, in KiB.
    func meminfo() throws -> (total: Int64, available: Int64) {
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        func field(_ name: String) throws -> Int64 {
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(name + ":") })
            return try #require(Int64(line.split(separator: " ")[1]))
        }
        return (try field("MemTotal"), try field("MemAvailable"))
    }

    static let reportPattern =
        #"memory report: available \d+ of \d+ MiB \(\d+(\.\d+)?%\), swap free \d+ of \d+ MiB \(\d+(\.\d+)?%\)(, PSI some avg10 \d+(\.\d+)?%)?$"#

    func matches(_ line: String, _ pattern: String) -> Bool {
        line.range(of: pattern, options: .regularExpression) != nil
    }

    @Test func dryRunReportsAtTheInterval() throws {
        let run = try DaemonRun(["-n", "--dry-run", "-r", "1"])
        try run.waitForLine(containing: "memory report every 1s")
        try run.waitForLine(containing: "memory report: ")
        let start = Date()
        usleep(2_600_000)
        let reports = run.lines.filter { $0.contains("memory report: ") }
        let elapsed = Date().timeIntervalSince(start)
        // One at start, then one a second: 3 or 4 in 2.6 s (never a burst).
        #expect(reports.count >= 3 && reports.count <= Int(elapsed) + 2, "\(reports)")
        for line in reports { #expect(matches(line, Self.reportPattern), "\(line)") }
        if FileManager.default.isReadableFile(atPath: "/proc/pressure/memory") {
            #expect(reports.allSatisfy { $0.contains(", PSI some avg10 ") })
        }
        #expect(run.stop() == 0)
    }

    @Test func noReportWithoutTheOption() throws {
        let run = try DaemonRun(["-n", "--dry-run"])
        try run.waitForLine(containing: "started")
        usleep(1_200_000)
        #expect(!run.log.contains("memory report"), "\(run.log)")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func sizeAboveAvailableDecidesWithBothFigures() throws {
        let cgroup = try TestCgroup()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-sock-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let hog = try Child.hog("bt-size", mb: 16, cgroup: cgroup)
        // Just below MemTotal: above what is available (the kernel's own
        // memory is never available), and accepted (alone, a size must be
        // below the total). The default 10 % no longer applies.
        let memory = try meminfo()
        let size = memory.total - 1024
        try #require(size > memory.available)
        let run = try DaemonRun([
            "-n", "--dry-run", "--scope", cgroup.path, "-M", String(size), "-s", "100", "--cooldown", "0.5", "--socket", socket,
        ])
        let line = try run.waitForLine(containing: "would kill pid")
        #expect(victimPID(in: line) == hog.pid, "\(line)")
        #expect(line.contains("rule low-memory"), "\(line)")
        // Available memory in percent and KiB, and the size as the threshold, in both units.
        let figures = #"available memory \d+(\.\d+)?% \(\d+(\.\d+)? [KMG]iB\) <= \d+(\.\d+)?% \(\d+(\.\d+)? [KMG]iB\)"#
        #expect(matches(line, figures), "\(line)")
        #expect(line.contains("would send SIGTERM"))
        #expect(!line.contains("<= 10% ("), "the default percentage must not cap a size given alone: \(line)")
        // The event carries both figures and the thresholds that applied.
        let (peer, out) = try EventPeers.start("listen", socket: socket, seconds: 1.5, extra: "0")
        peer.process.waitUntilExit()
        let kill = try #require(try EventPeers.lines(out).first { $0["type"] as? String == "kill" })
        #expect(kill["rule"] as? String == "low-memory")
        let availableKiB = try #require(kill["available_kib"] as? Int)
        #expect(availableKiB > 0 && Int64(availableKiB) <= size)
        #expect(kill["memory_terminate_kib"] as? Int == Int(size))
        #expect(kill["memory_kill_kib"] as? Int == Int(size / 2))
        #expect(kill["available_percent"] is NSNumber && kill["memory_terminate_percent"] is NSNumber)
        #expect(kill["swap_free_kib"] is Int)
        #expect(run.stop() == 0)
        #expect(hog.isRunning, "a dry run signalled someone")
    }

    @Test func sizeAloneAtTotalMemoryIsAUsageError() throws {
        let memory = try meminfo()
        let run = try DaemonRun(["-n", "--dry-run", "-M", String(memory.total)])
        #expect(run.waitForExit() == 2)
        #expect(run.log.contains("at or above total memory"), "\(run.log)")
        let capped = try DaemonRun(["-n", "--dry-run", "-m", "10", "-M", String(memory.total), "-r", "0"])
        try capped.waitForLine(containing: "started")
        #expect(capped.stop() == 0)
    }
}
