import Foundation
import Testing

/// bustd in --dry-run on this machine's real /proc, with thresholds that
/// force a decision: it must name a process the test started, and never one
/// outside the scope it was given.
@Suite(.serialized) struct DryRunIntegrationTests {
    @Test(.needsRoot) func scopedDryRunNamesTheBiggestChildAndNothingOutside() throws {
        let cgroup = try TestCgroup()
        let small = try Child.hog("bt-small", mb: 8, cgroup: cgroup)
        let hog = try Child.hog("bt-hog", mb: 48, cgroup: cgroup)
        // Bigger, preferred by name and adjusted up, but outside the scope.
        let outside = try Child.hog("bt-outside", mb: 96, cgroup: nil, oomScoreAdj: 900)
        let run = try DaemonRun([
            "-n", "--dry-run", "-V", "--scope", cgroup.path, "-m", "100", "-s", "100",
            "--cooldown", "0.2", "--prefer", "outside",
        ])
        try run.waitForLine(containing: "would kill pid")
        usleep(800_000)
        let decisions = run.lines.filter { $0.contains("would kill pid") }
        #expect(decisions.count >= 2)
        for line in decisions {
            #expect(victimPID(in: line) == hog.pid, "\(line)")
            #expect(line.contains("\"bt-hog\""))
            #expect(line.contains("would send SIGTERM"))
        }
        #expect(run.stop() == 0)
        #expect(small.isRunning && hog.isRunning && outside.isRunning, "a dry run signalled someone")
    }

    @Test func wholeMachineDryRunNamesTheTestsHog() throws {
        // oom_score_adj 1000 (a process may raise its own) and --prefer make
        // the test's hog the machine's top candidate.
        let hog = try Child.hog("bt-top", mb: 32, cgroup: nil, oomScoreAdj: 1000)
        let run = try DaemonRun(["-n", "--dry-run", "-m", "100,100", "-s", "100", "--prefer", "^bt-top$"])
        let line = try run.waitForLine(containing: "would kill pid")
        #expect(victimPID(in: line) == hog.pid, "\(line)")
        #expect(line.contains("would send SIGKILL"))  // 100,100: at the SIGKILL threshold
        #expect(line.contains("oom_score_adj 1000"))
        #expect(line.contains("rule low-memory"))
        #expect(run.stop() == 0)
        #expect(hog.isRunning)
    }

    @Test func healthyMachineWithDefaultsDecidesNothing() throws {
        let run = try DaemonRun(["-n", "--dry-run", "-V"])
        try run.waitForLine(containing: "started")
        usleep(1_500_000)
        #expect(!run.log.contains("would kill"), "\(run.log)")
        #expect(run.stop() == 0)
    }

    /// Thousands of short-lived processes a second, inside and outside the
    /// scope, for 30 s while two dry-run daemons scan continuously.
    @Test(.needsRoot) func survivesAProcessStorm() throws {
        let cgroup = try TestCgroup()
        let hog = try Child.hog("bt-stormhog", mb: 48, cgroup: cgroup, oomScoreAdj: 1000)
        let seconds = 30
        let storm = """
            import os, sys, time
            end = time.time() + \(seconds)
            n = 0
            while time.time() < end:
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0)
                n += 1
            open(sys.argv[1], "w").write(str(n))
            """
        let counts = (0..<3).map { FileManager.default.temporaryDirectory.appendingPathComponent("storm-\($0)-\(UUID())").path }
        let storms = try counts.enumerated().map { index, path in
            try Child("\(Harness.python) -c '\(storm)' \(path)", cgroup: index < 2 ? cgroup : nil)
        }
        // A decision every 0.1 s, and between them a scan ahead every 0.5 s.
        let scoped = try DaemonRun(["-n", "--dry-run", "-V", "--scope", cgroup.path, "-m", "100", "-s", "100", "--cooldown", "0.1"])
        let machine = try DaemonRun(["-n", "--dry-run", "-V", "-m", "100", "-s", "100", "--cooldown", "0.1", "--prefer", "^bt-stormhog$"])
        for child in storms { child.process.waitUntilExit() }

        let forks = counts.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.compactMap { Int($0) }.reduce(0, +)
        for path in counts { try? FileManager.default.removeItem(atPath: path) }
        print("storm: \(forks) processes in \(seconds) s (\(forks / seconds)/s)")
        #expect(forks / seconds >= 1000, "the storm was too weak to prove anything")

        for run in [scoped, machine] {
            #expect(run.process.isRunning, "bustd died during the storm: \(run.log.suffix(2000))")
            let scans = run.lines.filter { $0.contains("scanned ") }
            let decisions = run.lines.filter { $0.contains("would kill pid") }
            #expect(scans.count >= 30, "only \(scans.count) scans")
            #expect(decisions.count >= 100, "only \(decisions.count) decisions")
            #expect(!decisions.isEmpty)
            for line in decisions { #expect(victimPID(in: line) == hog.pid, "\(line)") }
            #expect(run.stop() == 0)
        }
        let vanished = scoped.lines.compactMap { line -> Int? in
            guard let range = line.range(of: "("), line.contains("vanished") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }.reduce(0, +)
        print("scoped scans saw \(vanished) processes vanish mid-scan")
    }
}
