import Foundation
import Testing

/// --pre-kill and --post-kill with real kills, confined as in
/// KillIntegrationTests: the candidates live in a test cgroup (--scope)
/// whose limit leaves 28 % available, and -m 40 fires.
@Suite(.serialized) struct HookIntegrationTests {
    func daemon(_ cgroup: TestCgroup, _ extra: [String], thresholds: String = "40") throws -> DaemonRun {
        try cgroup.limitSoThatAvailableIs(percent: KillIntegrationTests.leftPercent)
        let pidFile = Harness.privatePath(".pid")
        // A socket of its own: other bustd test runs on this host use the default.
        let socket = Harness.privatePath(".sock")
        return try DaemonRun(
            ["-n", "--scope", cgroup.path, "-m", thresholds, "-s", "100", "--pidfile", pidFile, "--socket", socket] + extra)
    }

    /// "SIGTERM signalled 12 ms after the decision" → 12
    func decisionToSignalMs(_ line: String) -> Int? {
        guard let end = line.range(of: " ms after the decision") else { return nil }
        return Int(line[..<end.lowerBound].split(separator: " ").last ?? "")
    }

    /// Every live process whose process group is pgid (/proc/PID/stat
    /// field 5), after a second for SIGKILL to land. Zombies are dead (and
    /// their reaping is their new parent's business, not bustd's).
    func members(ofGroup pgid: Int32) -> [Int32] {
        var alive = liveMembers(ofGroup: pgid)
        for _ in 0..<50 where !alive.isEmpty {
            usleep(20_000)
            alive = liveMembers(ofGroup: pgid)
        }
        return alive
    }

    func liveMembers(ofGroup pgid: Int32) -> [Int32] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.range(of: ")", options: .backwards)
            else { return false }
            let fields = stat[close.upperBound...].split(separator: " ")
            return fields.count > 2 && Int32(fields[2]) == pgid && fields[0] != "Z"
        }
    }

    func environment(in file: String, timeout: TimeInterval = 10) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), text.hasSuffix("END\n") {
                var out: [String: String] = [:]
                for line in text.split(separator: "\n") {
                    let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    if parts.count == 2 { out[String(parts[0])] = String(parts[1]) }
                }
                return out
            }
            usleep(20_000)
        }
        throw HarnessError("the hook wrote no environment to \(file)")
    }

    /// A hook script that writes its environment to record, then END.
    func recordingScript(_ directory: HookDirectory, _ record: String, tail: String = "") throws -> String {
        try directory.script(
            "record",
            "/usr/bin/env > \(record).new; echo END >> \(record).new; /usr/bin/mv \(record).new \(record)" + tail)
    }

    @Test(.needsRoot) func postKillHookGetsTheVictimInItsEnvironment() throws {
        let directory = try HookDirectory()
        let record = directory.path + "/env.txt"
        let hook = try recordingScript(directory, record, tail: "; echo recorded; exit 3")
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 64, cgroup: cgroup)
        let run = try daemon(cgroup, ["--grace", "10", "--post-kill", hook + " extra-argument"])

        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == hog.pid)
        let env = try environment(in: record)
        #expect(env["BUSTD_PID"] == "\(hog.pid)")
        #expect(env["BUSTD_UID"] == "0")
        #expect(env["BUSTD_USER"] == "root")
        #expect(env["BUSTD_NAME"] == "bk-hog")
        #expect(env["BUSTD_EXE"]?.contains("python3") == true)
        #expect(env["BUSTD_CMDLINE"]?.hasPrefix("/usr/bin/python3 -c import os") == true, "\(env["BUSTD_CMDLINE"] ?? "none")")
        #expect(env["BUSTD_RULE"] == "low-memory")
        #expect(env["BUSTD_SIGNAL"] == "SIGTERM")
        #expect((Int(env["BUSTD_RSS_KIB"] ?? "") ?? 0) >= 64 * 1024)
        let available = Double(env["BUSTD_AVAILABLE_PERCENT"] ?? "") ?? -1
        #expect(available > 20 && available < 40, "\(env["BUSTD_AVAILABLE_PERCENT"] ?? "none")")
        #expect(env["BUSTD_DRY_RUN"] == nil)
        #expect(env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(env["HOME"] == nil && env["USER"] == nil, "bustd's own environment leaked")
        let finished = try run.waitForLine(containing: "post-kill hook \"\(hook)\" (pid")
        #expect(finished.contains("exited with status 3"))
        try run.waitForLine(containing: "post-kill hook output: \"recorded\"")
        #expect(hog.waitForSignal() == SIGTERM)
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func preKillHookCannotDelayTheSignalPastItsWindow() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 64, cgroup: cgroup)
        let run = try daemon(cgroup, ["--grace", "10", "--pre-kill", "/usr/bin/sleep 10"])

        let killing = try run.waitForLine(containing: "killing pid")
        let ms = try #require(decisionToSignalMs(killing), "\(killing)")
        // The window is 200 ms; the hook sleeps 10 s.
        #expect(ms >= 190 && ms < 400, "signalled \(ms) ms after the decision")
        #expect(hog.waitForSignal() == SIGTERM)
        let killed = try run.waitForLine(containing: "pre-kill hook \"/usr/bin/sleep\": still running after 200 ms")
        let group = try #require(Int32(killed.split(separator: " ").last { Int32($0) != nil } ?? ""), "\(killed)")
        try run.waitForLine(containing: "killed at its 200 ms timeout")
        #expect(members(ofGroup: group).isEmpty, "the hook's process group outlived its timeout")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func preKillHookIsSkippedAtTheKillThreshold() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 32, cgroup: cgroup, ignoreTerm: true)
        let run = try daemon(cgroup, ["--grace", "30", "--pre-kill", "/usr/bin/sleep 10"], thresholds: "40,40")
        let killing = try run.waitForLine(containing: "killing pid")
        #expect(killing.contains("SIGKILL signalled"))
        #expect(run.lines.contains { $0.contains("pre-kill hook skipped: memory is at the SIGKILL threshold") })
        let ms = try #require(decisionToSignalMs(killing), "\(killing)")
        #expect(ms < 150, "signalled \(ms) ms after the decision")
        #expect(hog.waitForSignal(timeout: 5) == SIGKILL)
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func aHangingForkingPostKillHookIsKilledWithItsGroup() throws {
        let directory = try HookDirectory()
        let pidFile = directory.path + "/storm.pid"
        let hook = try directory.script(
            "storm",
            """
            echo $$ > \(pidFile)
            i=0; while [ $i -lt 100 ]; do /usr/bin/sleep 1000 & i=$((i+1)); done
            /usr/bin/yes storm
            """)
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 64, cgroup: cgroup)
        let run = try daemon(cgroup, ["--grace", "10", "--post-kill", hook])

        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == hog.pid)
        let started = Date()
        let killed = try run.waitForLine(containing: "still running after 10000 ms", timeout: 20)
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed > 9 && elapsed < 12, "killed after \(elapsed) s")
        let pidText = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
        let group = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(killed.contains("process group \(group)"))
        try run.waitForLine(containing: "killed at its 10000 ms timeout")
        #expect(members(ofGroup: group).isEmpty, "the hook's process group outlived its timeout")
        // `yes` wrote megabytes: a bounded few lines reach the log.
        let output = run.lines.filter { $0.contains("post-kill hook output:") }
        #expect(output.count == 11 && output.last?.contains("more bytes not logged") == true, "\(output.count) lines")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func hooksRunInADryRunWithDryRunSet() throws {
        let directory = try HookDirectory()
        let record = directory.path + "/env.txt"
        let hook = try recordingScript(directory, record)
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 64, cgroup: cgroup)
        let run = try daemon(cgroup, ["--dry-run", "--post-kill", hook])
        try run.waitForLine(containing: "would kill pid \(hog.pid)")
        let env = try environment(in: record)
        #expect(env["BUSTD_DRY_RUN"] == "1")
        #expect(env["BUSTD_PID"] == "\(hog.pid)")
        #expect(hog.isRunning)
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func anUnsafeHookFileStopsTheStart() throws {
        let directory = try HookDirectory()
        let hook = try directory.script("writable", "exit 0", mode: 0o775)
        let refused = try DaemonRun(["-n", "--dry-run", "--post-kill", hook])
        #expect(refused.waitForExit() == 2)
        #expect(refused.log.contains("--post-kill: \"\(hook)\" is writable by its group or others"), "\(refused.log)")
        let relative = try DaemonRun(["-n", "--dry-run", "--pre-kill", "sleep 1"])
        #expect(relative.waitForExit() == 2)
        #expect(relative.log.contains("absolute path"), "\(relative.log)")
    }
}
