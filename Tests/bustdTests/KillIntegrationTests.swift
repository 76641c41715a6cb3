import Foundation
import Testing

/// Real kills, confined: the candidates are processes the test started in
/// a cgroup of its own (--scope) with a memory limit, set so that 28 % of it
/// is left (-m 40 fires; the SIGKILL threshold is 20 %). bustd decides on
/// the memory under that limit, so a kill really brings memory back above
/// the threshold, and every other process, inside and outside the scope,
/// must survive.
@Suite(.serialized) struct KillIntegrationTests {
    static let leftPercent = 28.0

    func daemon(_ cgroup: TestCgroup, _ extra: [String], thresholds: String = "40") throws -> DaemonRun {
        try cgroup.limitSoThatAvailableIs(percent: KillIntegrationTests.leftPercent)
        let pidFile = Harness.privatePath(".pid")
        return try DaemonRun(["-n", "--scope", cgroup.path, "-m", thresholds, "-s", "100", "--pidfile", pidFile] + extra)
    }

    /// A 64 MiB process group leader ("bk-leader") and its two children
    /// ("bk-leader-c"; the first ignores SIGTERM), once both are there.
    func groupLeader(in cgroup: TestCgroup) throws -> (Child, [Int32]) {
        let leader = try Child.hog("bk-leader", mb: 64, cgroup: cgroup, children: 2)
        var members: [Int32] = []
        for _ in 0..<100 where members.count < 2 {
            members = leader.childPIDs
            usleep(20_000)
        }
        try #require(members.count == 2)
        return (leader, members)
    }

    @Test(.needsRoot) func killsTheBiggestChildWithSIGTERM() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let small = try Child.hog("bk-small", mb: 8, cgroup: cgroup)
        let hog = try Child.hog("bk-hog", mb: 64, cgroup: cgroup)
        let other = try Child.hog("bk-other", mb: 16, cgroup: cgroup)
        let outside = try Child.hog("bk-outside", mb: 96, cgroup: nil, oomScoreAdj: 1000)
        let run = try daemon(cgroup, ["--grace", "10", "--prefer", "outside"])

        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == hog.pid)
        #expect(killing.contains("\"bk-hog\"") && killing.contains("SIGTERM signalled"))
        #expect(killing.contains("oom_score ") && killing.contains("RSS ") && killing.contains("cmdline "))
        #expect(killing.contains("rule low-memory: available memory"))
        #expect(hog.waitForSignal() == SIGTERM)
        let exited = try run.waitForLine(containing: "exited")
        #expect(exited.contains("pid \(hog.pid) exited") && exited.contains("after SIGTERM;"))
        #expect(exited.contains("memory recovered"))

        usleep(500_000)
        #expect(small.isRunning && other.isRunning && outside.isRunning, "collateral kill")
        #expect(run.lines.filter { $0.contains("killing pid") }.count == 1, "one emergency, one victim")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func escalatesToSIGKILLWhenSIGTERMIsIgnored() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let small = try Child.hog("bk-small", mb: 8, cgroup: cgroup)
        let stubborn = try Child.hog("bk-stubborn", mb: 64, cgroup: cgroup, ignoreTerm: true)
        let run = try daemon(cgroup, ["--grace", "1"])

        let killing = try run.waitForLine(containing: "killing pid")
        let sentAt = Date()
        #expect(victimPID(in: killing) == stubborn.pid)
        #expect(stubborn.waitForSignal() == SIGKILL)
        let elapsed = Date().timeIntervalSince(sentAt)
        #expect(elapsed >= 0.8 && elapsed < 5, "SIGKILL came after \(elapsed) s, grace was 1 s")
        let exited = try run.waitForLine(containing: "exited")
        #expect(exited.contains("after SIGTERM, then SIGKILL"))
        #expect(small.isRunning)
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func sigkillAtOnceAtTheKillThreshold() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let hog = try Child.hog("bk-hog", mb: 32, cgroup: cgroup, ignoreTerm: true)
        let run = try daemon(cgroup, ["--grace", "30"], thresholds: "40,40")
        let killing = try run.waitForLine(containing: "killing pid")
        #expect(killing.contains("SIGKILL signalled"))
        #expect(hog.waitForSignal(timeout: 5) == SIGKILL)
        #expect(try run.waitForLine(containing: "exited").contains("after SIGKILL"))
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func processGroupFlagKillsTheWholeGroup() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let bystander = try Child.hog("bk-bystander", mb: 8, cgroup: cgroup)
        // The leader holds the most; its two children share its group, and
        // the first ignores SIGTERM, so the group needs the escalation.
        let (leader, members) = try groupLeader(in: cgroup)
        let run = try daemon(cgroup, ["-g", "--grace", "1"])

        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == leader.pid)
        #expect(killing.contains("and its process group \(leader.pid)"))
        #expect(leader.waitForSignal() == SIGTERM)
        try run.waitForLine(containing: "exited")
        for member in members { #expect(!isLiveProcess(member), "group member \(member) survived") }
        #expect(bystander.isRunning, "a process outside the group died")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func withoutTheGroupFlagOnlyTheLeaderDies() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let (leader, members) = try groupLeader(in: cgroup)
        let run = try daemon(cgroup, ["--grace", "5"])
        #expect(victimPID(in: try run.waitForLine(containing: "killing pid")) == leader.pid)
        #expect(leader.waitForSignal() == SIGTERM)
        try run.waitForLine(containing: "exited")
        // kill(pid, 0) succeeds on a zombie: read the state instead.
        for member in members { #expect(isLiveProcess(member), "child \(member) died without -g") }
        for member in members { kill(member, SIGKILL) }
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func neverKillListIsRespected() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let listed = try Child.hog("bk-precious", mb: 96, cgroup: cgroup)
        let next = try Child.hog("bk-next", mb: 16, cgroup: cgroup)
        let run = try daemon(cgroup, ["-u", "bk-prec*", "--grace", "5"])
        #expect(victimPID(in: try run.waitForLine(containing: "killing pid")) == next.pid)
        #expect(next.waitForSignal() == SIGTERM)
        #expect(listed.isRunning)
        #expect(run.stop() == 0)
    }

    /// The kernel scores a process with oom_score_adj -1000 at 0, so rank
    /// alone would leave it last: here it is the only process in the
    /// scope, so nothing but bustd's -1000 check keeps it from being chosen.
    @Test(
        .needsRoot,
        .enabled(
            if: Harness.hasCapability(Harness.capSysResource),
            "setting oom_score_adj -1000 needs CAP_SYS_RESOURCE, which this process lacks"))
    func minus1000IsSparedEvenWhenNothingElseIsLeft() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let exempt = try Child.hog("bk-exempt", mb: 64, cgroup: cgroup, oomScoreAdj: -1000)
        try #require(exempt.oomScoreAdj == -1000)
        let run = try daemon(cgroup, ["--grace", "5"])
        try run.waitForLine(containing: "no process can be killed")
        usleep(300_000)
        #expect(!run.log.contains("killing pid"), "\(run.log)")
        #expect(exempt.isRunning)
        #expect(run.stop() == 0)
    }

    /// A user's hog that names itself sshd (the hog writes its own comm,
    /// as prctl(PR_SET_NAME) does) is the one killed, not another user's
    /// small process: the name buys it nothing.
    @Test(.needsRoot) func aHogNamedSshdIsStillTheHog() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let innocent = try Child.hog("bk-innocent", mb: 24, cgroup: cgroup, asUser: 1001)
        let spoof = try Child.hog("sshd", mb: 80, cgroup: cgroup, asUser: 1000)
        let run = try daemon(cgroup, ["--grace", "5"])
        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == spoof.pid, "\(killing)")
        #expect(spoof.waitForSignal() == SIGTERM)
        #expect(innocent.isRunning)
        #expect(!run.log.contains("sparing pid \(spoof.pid)"))
        #expect(run.stop() == 0)
    }

    /// -g signals the group's members one by one and leaves a protected
    /// member out, where kill(-pgid) would have reached it too.
    @Test(.needsRoot) func theGroupFlagLeavesProtectedMembersAlive() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let (leader, members) = try groupLeader(in: cgroup)
        let run = try daemon(cgroup, ["-g", "--grace", "1", "-u", "bk-leader-c"])
        let killing = try run.waitForLine(containing: "killing pid")
        #expect(victimPID(in: killing) == leader.pid)
        #expect(leader.waitForSignal() == SIGTERM)
        try run.waitForLine(containing: "exited")
        usleep(1_500_000)  // past the grace: no SIGKILL for them either
        for member in members {
            #expect(isLiveProcess(member), "protected group member \(member) was signalled")
            #expect(run.log.contains("leaving pid \(member) \"bk-leader-c\" out of the kill"))
        }
        for member in members { kill(member, SIGKILL) }
        #expect(run.stop() == 0)
    }

    /// With nothing killable, bustd tries again every 5 s (not at every
    /// look) and says so once a minute (every try is in the verbose log).
    @Test(.needsRoot) func nothingKillableIsSaidOnceAndBacksOff() throws {
        let cgroup = try TestCgroup(memoryLimited: true)
        let exempt = try Child.hog("bk-exempt", mb: 16, cgroup: cgroup)
        let run = try daemon(cgroup, ["-u", "bk-*", "-V"])
        try run.waitForLine(containing: "no process can be killed")
        try run.waitForLine(containing: "still no process can be killed", timeout: 8)
        usleep(300_000)
        let said = run.lines.filter { $0.contains("but no process can be killed") }
        let tries = run.lines.filter { $0.contains("no process can be killed") }
        #expect(said.count == 1, "said more than once a minute: \(said)")
        #expect(tries.count == 2, "tried \(tries.count) times in about 5 s: \(tries)")
        // The verbose stamps: the second try came after the 5 s back-off.
        let stamps = tries.compactMap { line -> Double? in
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            return Double(line[line.index(after: open)..<close])
        }
        #expect(stamps.count == 2 && stamps[1] - stamps[0] >= 4.9, "tries at \(stamps)")
        #expect(exempt.isRunning)
        #expect(run.stop() == 0)
    }
}

/// Whether pid is a process that has not exited (a zombie has).
func isLiveProcess(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.range(of: ")", options: .backwards)
    else { return false }
    let state = stat[close.upperBound...].dropFirst().prefix(1)
    return state != "Z" && state != "X"
}
