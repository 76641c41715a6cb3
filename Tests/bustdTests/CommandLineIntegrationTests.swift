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
        let pidFile = Harness.privatePath(".pid")
        let first = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile])
        try first.waitForLine(containing: "started")
        let second = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile])
        #expect(second.waitForExit() == 1)
        #expect(second.log.contains("another bustd is already running (pid \(first.process.processIdentifier))"))
        #expect(first.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile), "pid file left behind")
    }

    @Test func daemonizesAndWritesThePidFile() throws {
        let pidFile = Harness.privatePath(".pid")
        let launcher = try DaemonRun(["--dry-run", "--pidfile", pidFile])
        #expect(launcher.waitForExit() == 0)  // the foreground process returns at once
        var daemonPID: Int32?
        for _ in 0..<200 where daemonPID == nil {
            daemonPID = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
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

    /// The pid file as root handles it: a symbolic link planted at the path
    /// is refused (its target neither truncated nor unlinked), and so are a
    /// directory others can write to, a file of another user, and a file
    /// with a second name (a hard link someone made to a file of theirs).
    @Test(.needsRoot) func thePidFileIsNeverAPlantedFile() throws {
        let target = Harness.privatePath(".target")
        try "precious\n".write(toFile: target, atomically: false, encoding: .utf8)
        let link = Harness.privatePath(".pid")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let onLink = try DaemonRun(["-n", "--dry-run", "--pidfile", link])
        #expect(onLink.waitForExit() == 1)
        #expect(onLink.log.contains("is a symbolic link; refusing to follow it"), "\(onLink.log)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target)

        let open = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-open-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o1777])
        chmod(open, 0o1777)
        defer { try? FileManager.default.removeItem(atPath: open) }
        let inOpen = try DaemonRun(["-n", "--dry-run", "--pidfile", open + "/bustd.pid"])
        #expect(inOpen.waitForExit() == 1)
        #expect(inOpen.log.contains("writable by others"), "\(inOpen.log)")

        let theirs = Harness.privatePath(".pid")
        try "".write(toFile: theirs, atomically: false, encoding: .utf8)
        _ = chown(theirs, 65534, 65534)
        let onTheirs = try DaemonRun(["-n", "--dry-run", "--pidfile", theirs])
        #expect(onTheirs.waitForExit() == 1)
        #expect(onTheirs.log.contains("not a regular file of bustd's user"), "\(onTheirs.log)")

        let linked = Harness.privatePath(".pid")
        #expect(Glibc.link(target, linked) == 0)
        let onLinked = try DaemonRun(["-n", "--dry-run", "--pidfile", linked])
        #expect(onLinked.waitForExit() == 1)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
    }
}
