import Foundation
import Testing

/// The real binary's front door: usage errors, privileges, the pid file,
/// daemonizing.
@Suite(.serialized) struct CommandLineIntegrationTests {
    @Test(arguments: [
        ["--bogus"], ["-m", "150"], ["-m", "10,20"], ["--prefer", "(broken"], ["-u", "[x"],
        ["--scope", "/nonexistent"], ["--psi-metric", "avg"], ["operand"],
    ])
    func usageErrorsExitTwoWithOneLine(arguments: [String]) throws {
        let run = try DaemonRun(arguments + ["-n", "--dry-run"])
        #expect(run.waitForExit() == 2)
        let lines = run.lines
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.hasPrefix("bustd: ") == true)
    }

    @Test func helpAndVersionGoToStandardOutput() throws {
        let help = try DaemonRun(["--help"])
        #expect(help.waitForExit() == 0)
        #expect(help.log.hasPrefix("Usage: bustd [OPTIONS]"))
        let version = try DaemonRun(["--version"])
        #expect(version.waitForExit() == 0)
        #expect(version.log.hasPrefix("bustd "))
    }

    @Test(.needsRoot) func killingNeedsRootButADryRunDoesNot() throws {
        let refused = try DaemonRun(["-n"], asUser: "65534")
        #expect(refused.waitForExit() == 1)
        #expect(refused.log.contains("must run as root"))
        let dryRun = try DaemonRun(["-n", "--dry-run"], asUser: "65534")
        try dryRun.waitForLine(containing: "started")
        #expect(dryRun.stop() == 0)
    }

    @Test(.needsRoot) func aSecondInstanceIsRefused() throws {
        let cgroup = try TestCgroup()  // empty scope: nothing to kill
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-\(UUID()).pid").path
        let first = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile])
        try first.waitForLine(containing: "started")
        let second = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile])
        #expect(second.waitForExit() == 1)
        #expect(second.log.contains("another bustd is already running (pid \(first.process.processIdentifier))"))
        #expect(first.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile), "pid file left behind")
    }

    @Test func daemonizesAndWritesThePidFile() throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-\(UUID()).pid").path
        let launcher = try DaemonRun(["--dry-run", "--pidfile", pidFile])
        #expect(launcher.waitForExit() == 0)  // the foreground process returns at once
        var daemonPID: Int32?
        for _ in 0..<200 where daemonPID == nil {
            daemonPID = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            usleep(10_000)
        }
        let pid = try #require(daemonPID)
        #expect(pid != launcher.process.processIdentifier)
        #expect(kill(pid, 0) == 0, "the daemon is not running")
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")", options: .backwards)!.upperBound...].split(separator: " ")
        let session = try #require(Int32(fields[3]))
        #expect(session != getsid(0), "the daemon did not leave the test's session")
        #expect(session != pid, "the daemon is a session leader (it must not be, after the second fork)")
        kill(pid, SIGTERM)
        for _ in 0..<300 where kill(pid, 0) == 0 { usleep(10_000) }
        #expect(kill(pid, 0) != 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }
}
