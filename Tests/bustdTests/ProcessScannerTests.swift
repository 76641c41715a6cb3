import Foundation
import Testing

@testable import bustd

@Suite struct ProcessScannerTests {
    func scan(_ proc: FakeProc, _ configure: (inout VictimPolicy) -> Void = { _ in }) -> ScanResult {
        var policy = VictimPolicy(ownPID: 999_999)
        configure(&policy)
        return ProcessScanner(proc: proc.directory(), policy: policy).scan(.all)
    }

    @Test func highestOomScoreWins() throws {
        let proc = try FakeProc()
        try proc.add(pid: 10, name: "small", oomScore: 50)
        try proc.add(pid: 11, name: "hog", oomScore: 700)
        try proc.add(pid: 12, name: "medium", oomScore: 300)
        let result = scan(proc)
        #expect(result.victim?.pid == 11)
        #expect(result.victim?.stat.name == Array("hog".utf8))
        #expect(result.scanned == 3)
    }

    @Test func tiesGoToTheLargerRSS() throws {
        let proc = try FakeProc()
        try proc.add(pid: 20, name: "a", rssPages: 100, oomScore: 500)
        try proc.add(pid: 21, name: "b", rssPages: 900, oomScore: 500)
        try proc.add(pid: 22, name: "c", rssPages: 300, oomScore: 500)
        #expect(scan(proc).victim?.pid == 21)
    }

    @Test func neverItselfPid1KernelThreadsZombiesOrMinus1000() throws {
        let proc = try FakeProc()
        try proc.add(pid: 1, name: "init", oomScore: 2000)
        try proc.add(pid: 2, name: "kthreadd", ppid: 0, oomScore: 1999)
        try proc.add(pid: 30, name: "kworker/0:1", flags: 0x0420_8040, oomScore: 1998)
        try proc.add(pid: 31, name: "defunct", state: "Z", oomScore: 1997)
        try proc.add(pid: 32, name: "protected", oomScore: 1996, oomScoreAdj: -1000)
        try proc.add(pid: 999_999, name: "bustd", oomScore: 1995)
        try proc.add(pid: 33, name: "childofkthreadd", ppid: 2, oomScore: 1994)
        try proc.add(pid: 34, name: "ordinary", oomScore: 10)
        #expect(scan(proc).victim?.pid == 34)
    }

    @Test func nothingKillableGivesNoVictim() throws {
        let proc = try FakeProc()
        try proc.add(pid: 1, name: "init", oomScore: 2000)
        try proc.add(pid: 40, name: "protected", oomScore: 900, oomScoreAdj: -1000)
        let result = scan(proc)
        #expect(result.victim == nil)
        #expect(result.scanned == 2)
    }

    @Test func neverKillListMatchesNameAndExecutablePath() throws {
        let proc = try FakeProc()
        try proc.add(pid: 50, name: "sshd", oomScore: 900)
        try proc.add(pid: 51, name: "renamed", oomScore: 800, exe: "/opt/db/bin/postgres")
        try proc.add(pid: 52, name: "upgraded", oomScore: 700, exe: "/usr/bin/emacs (deleted)")
        try proc.add(pid: 53, name: "victim", oomScore: 600, exe: "/usr/bin/victim")
        let result = scan(proc) { policy in
            guard case .success(let list) = GlobList.parse("sshd|/opt/db/*|/usr/bin/emacs") else { return }
            policy.protection.names = list
        }
        #expect(result.victim?.pid == 53)
    }

    @Test func preferAndAvoidMoveProcessesBy300() throws {
        let proc = try FakeProc()
        try proc.add(pid: 60, name: "chrome", oomScore: 400)
        try proc.add(pid: 61, name: "builder", oomScore: 200)
        try proc.add(pid: 62, name: "editor", oomScore: 450)
        let preferred = scan(proc) { $0.prefer = try? Regex.compile("^build").get() }
        #expect(preferred.victim?.pid == 61)
        #expect(preferred.victim?.rank == 500)
        let avoided = scan(proc) { $0.avoid = try? Regex.compile("^(editor|chrome)$").get() }
        #expect(avoided.victim?.pid == 61)
        // Prefer does not beat a process the kernel scores far higher.
        try proc.add(pid: 63, name: "giant", oomScore: 1500)
        #expect(scan(proc) { $0.prefer = try? Regex.compile("^build").get() }.victim?.pid == 63)
    }

    @Test func ignoreRootUserSkipsRootsProcesses() throws {
        let proc = try FakeProc()
        try proc.add(pid: 70, name: "rootjob", oomScore: 900)
        try proc.add(pid: 71, name: "userjob", oomScore: 100)
        proc.chown(pid: 71, uid: 1000)
        #expect(scan(proc).victim?.pid == 70)
        let result = scan(proc) { $0.ignoreRootUser = true }
        #expect(result.victim?.pid == 71)
        #expect(result.victim?.uid == 1000)
    }

    @Test func entriesThatVanishMidScanAreSkipped() throws {
        let proc = try FakeProc()
        try proc.add(pid: 80, name: "nostat", oomScore: 1500, writeStat: false)
        try proc.add(pid: 81, name: "noscore", oomScore: nil)
        try proc.add(pid: 82, name: "noadj", oomScore: 1200, oomScoreAdj: nil)
        try proc.add(pid: 83, name: "alive", oomScore: 100)
        let result = scan(proc)
        #expect(result.victim?.pid == 83)
        #expect(result.vanished == 3)
    }

    @Test func scanningAListLooksOnlyAtThosePids() throws {
        let proc = try FakeProc()
        try proc.add(pid: 90, name: "outside", oomScore: 1900)
        try proc.add(pid: 91, name: "inside", oomScore: 10)
        let scanner = ProcessScanner(proc: proc.directory(), policy: VictimPolicy(ownPID: 1))
        let result = scanner.scan(.list([91, 12345]))
        #expect(result.victim?.pid == 91)
        #expect(result.scanned == 2 && result.vanished == 1)
    }

    @Test func rescanningSeesNewAndRemovedProcesses() throws {
        let proc = try FakeProc()
        try proc.add(pid: 100, name: "first", oomScore: 100)
        let scanner = ProcessScanner(proc: proc.directory(), policy: VictimPolicy(ownPID: 1))
        #expect(scanner.scan(.all).victim?.pid == 100)
        try proc.add(pid: 101, name: "second", oomScore: 200)
        #expect(scanner.scan(.all).victim?.pid == 101)
        try FileManager.default.removeItem(atPath: proc.path + "/101")
        #expect(scanner.scan(.all).victim?.pid == 100)
    }

    @Test func residentSizeIsInKiB() throws {
        let proc = try FakeProc()
        try proc.add(pid: 110, name: "x", rssPages: 256, oomScore: 1)
        let pageKiB = Int64(sysconf(Int32(_SC_PAGESIZE)) / 1024)
        #expect(scan(proc).victim?.residentKiB == 256 * pageKiB)
    }

    @Test func aScanKeepsTheBestFewInOrder() throws {
        let proc = try FakeProc()
        func score(_ pid: Int32) -> Int { Int(pid) * 3 % 61 }
        for pid in Int32(200)..<220 { try proc.add(pid: pid, name: "p\(pid)", oomScore: score(pid)) }
        let result = scan(proc)
        // Equal RSS: ties go to the older (smaller) pid.
        let ordered: [Int32] = (Int32(200)..<220).sorted { a, b in score(a) != score(b) ? score(a) > score(b) : a < b }
        let expected = ordered.prefix(ProcessScanner.shortlistSize)
        #expect(result.ranked.map(\.pid) == Array(expected))
        #expect(result.victim?.pid == expected.first)
    }

    @Test func aScanInSlicesFindsWhatAWholeScanFinds() throws {
        let proc = try FakeProc()
        for pid in Int32(300)..<340 { try proc.add(pid: pid, name: "p\(pid)", oomScore: Int(pid) * 7 % 101) }
        try proc.add(pid: 340, name: "exempt", oomScore: 2000, oomScoreAdj: -1000)
        let scanner = ProcessScanner(proc: proc.directory(), policy: VictimPolicy(ownPID: 1))
        let whole = scanner.scan(.all)
        // A budget of 0 ms looks at no process per call: the pass must still
        // finish after enough calls, with the same ranking.
        let pass = scanner.beginPass(.all)
        var slices = 0
        var sliced: ScanResult?
        while sliced == nil && slices < 1000 {
            sliced = scanner.advance(pass, budgetMs: slices % 2 == 0 ? 0 : 1)
            slices += 1
        }
        #expect(sliced?.ranked.map(\.pid) == whole.ranked.map(\.pid))
        #expect(sliced?.scanned == 41)
        let listed = scanner.beginPass(.list([305, 306, 340]))
        var fromList: ScanResult?
        while fromList == nil { fromList = scanner.advance(listed, budgetMs: 1) }
        #expect(fromList?.ranked.map(\.pid).sorted() == [305, 306])
    }

    @Test func rerankReadsTheShortlistAgainAndDropsWhatChanged() throws {
        let proc = try FakeProc()
        try proc.add(pid: 400, name: "was-first", oomScore: 900)
        try proc.add(pid: 401, name: "grew", oomScore: 500)
        try proc.add(pid: 402, name: "exits", oomScore: 400)
        try proc.add(pid: 403, name: "reused", oomScore: 300)
        let scanner = ProcessScanner(proc: proc.directory(), policy: VictimPolicy(ownPID: 1))
        let shortlist = scanner.scan(.all).ranked
        #expect(shortlist.map(\.pid) == [400, 401, 402, 403])
        try "1200\n".write(toFile: proc.path + "/401/oom_score", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: proc.path + "/402")
        try FileManager.default.removeItem(atPath: proc.path + "/403")
        try proc.add(pid: 403, name: "newcomer", startTime: 9999, oomScore: 1900)  // same pid, another process
        let reranked = scanner.rerank(shortlist)
        #expect(reranked.ranked.map(\.pid) == [401, 400])
        #expect(reranked.victim?.oomScore == 1200)
        // A victim already dying is never chosen again.
        #expect(scanner.rerank(shortlist, excluding: [(pid: 401, startTime: 5000)]).victim?.pid == 400)
        #expect(scanner.scan(.all, excluding: [(pid: 403, startTime: 9999)]).victim?.pid == 401)
    }

    /// At a decision the shortlist's identity checks are not run again
    /// (they were run moments before, and reading an executable's file is
    /// what can wait on a filesystem under reclaim); rank and -1000 are.
    @Test func rerankKeepsTheIdentityItSawButReadsRankAndExemptionAgain() throws {
        let proc = try FakeProc()
        try proc.add(pid: 410, name: "hog", oomScore: 900, cgroup: "/user.slice/user-1000.slice/app.slice/a.scope")
        try proc.add(pid: 411, name: "other", oomScore: 800, cgroup: "/user.slice/user-1000.slice/app.slice/b.scope")
        try proc.add(pid: 412, name: "exempted", oomScore: 700)
        let scanner = ProcessScanner(proc: proc.directory(), policy: VictimPolicy(ownPID: 1))
        let shortlist = scanner.scan(.all).ranked
        #expect(shortlist.first?.cgroup?.path == Array("/user.slice/user-1000.slice/app.slice/a.scope".utf8))
        // Its cgroup file now says otherwise: not read again at the rerank.
        try "0::/system.slice/moved.service\n".write(toFile: proc.path + "/410/cgroup", atomically: false, encoding: .utf8)
        try "-1000\n".write(toFile: proc.path + "/412/oom_score_adj", atomically: false, encoding: .utf8)
        let reranked = scanner.rerank(shortlist)
        #expect(reranked.ranked.map(\.pid) == [410, 411], "-1000 since the scan: dropped")
        #expect(reranked.victim?.cgroup?.path == Array("/user.slice/user-1000.slice/app.slice/a.scope".utf8))
        // A full scan reads it.
        #expect(scanner.scan(.all).victim?.cgroup?.path == Array("/system.slice/moved.service".utf8))
    }

    @Test func theShortlistIsFreshForAWhileAndKeepsItsHeadsDetails() throws {
        let proc = try FakeProc()
        try proc.add(pid: 500, name: "head", oomScore: 900, cmdline: "head\u{0}--big\u{0}")
        try proc.add(pid: 501, name: "second", oomScore: 800, cmdline: "second\u{0}")
        try proc.add(pid: 502, name: "third", oomScore: 700, cmdline: "third\u{0}")
        let directory = proc.directory()
        let scanner = ProcessScanner(proc: directory, policy: VictimPolicy(ownPID: 1))
        var shortlist = Shortlist()
        #expect(shortlist.isDue(nowMs: 0) && !shortlist.isUsable(nowMs: 0))
        var reads: [Int32] = []
        shortlist.refresh(scanner.scan(.all), nowMs: 1000) { candidate in
            reads.append(candidate.pid)
            return VictimDetails.read(candidate.pid, proc: directory, commandLineLimit: 100)
        }
        #expect(reads == [500, 501], "details are read ahead for the head only")
        #expect(shortlist.cached(shortlist.members[0])?.commandLine == Array("head --big".utf8))
        #expect(shortlist.cached(shortlist.members[2]) == nil)
        #expect(!shortlist.isDue(nowMs: 1000 + Shortlist.refreshEveryMs - 1) && shortlist.isDue(nowMs: 1000 + Shortlist.refreshEveryMs))
        #expect(shortlist.isUsable(nowMs: 1000 + Shortlist.usableForMs - 1) && !shortlist.isUsable(nowMs: 1000 + Shortlist.usableForMs))
        shortlist.remove(shortlist.members[0])
        #expect(shortlist.members.map(\.pid) == [501, 502])
    }

    @Test func scanOfTheRealProcFindsSomeone() {
        let scanner = ProcessScanner(proc: ProcDirectory(path: "/proc")!, policy: VictimPolicy(ownPID: getpid()))
        let result = scanner.scan(.all)
        #expect(result.scanned > 1)
        #expect(result.victim != nil)
        #expect(result.victim?.pid != getpid())
    }
}

@Suite struct CgroupScopeTests {
    @Test func collectsPidsFromChildCgroupsAndReadsTheLimit() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cg-\(UUID())")
        let child = root.appendingPathComponent("child/grandchild")
        try FileManager.default.createDirectory(at: child, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "10\n11\n".write(to: root.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)
        try "20\n".write(to: root.appendingPathComponent("child/cgroup.procs"), atomically: false, encoding: .utf8)
        try "30\ngarbage\n\n".write(to: child.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)
        let scope = try CgroupScope.open(root.path + "/").get()
        #expect(scope.path == root.path)
        #expect(scope.processIDs().sorted() == [10, 11, 20, 30])

        let machine = MemoryStatus(totalKiB: 1_000_000, availableKiB: 900_000, swapTotalKiB: 0, swapFreeKiB: 0)
        #expect(scope.memoryStatus(machine: machine) == nil)  // no memory controller files
        try "max\n".write(to: root.appendingPathComponent("memory.max"), atomically: false, encoding: .utf8)
        try "1048576\n".write(to: root.appendingPathComponent("memory.current"), atomically: false, encoding: .utf8)
        #expect(scope.memoryStatus(machine: machine) == nil)  // no limit
        try "4194304\n".write(to: root.appendingPathComponent("memory.max"), atomically: false, encoding: .utf8)
        let scoped = try #require(scope.memoryStatus(machine: machine))
        #expect(scoped.totalKiB == 4096 && scoped.availableKiB == 3072)
        #expect(scoped.availablePercent == 7500)
        // Never more available than the machine has.
        let short = MemoryStatus(totalKiB: 1_000_000, availableKiB: 1024, swapTotalKiB: 0, swapFreeKiB: 0)
        #expect(scope.memoryStatus(machine: short)?.availableKiB == 1024)
        // A limit above the machine's RAM is no limit.
        try "2048000000\n".write(to: root.appendingPathComponent("memory.max"), atomically: false, encoding: .utf8)
        #expect(scope.memoryStatus(machine: machine) == nil)
    }

    @Test func readsTheCgroupV1MemoryControllerToo() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cg1-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try "".write(to: root.appendingPathComponent("cgroup.procs"), atomically: false, encoding: .utf8)
        let scope = try CgroupScope.open(root.path).get()
        let machine = MemoryStatus(totalKiB: 1_000_000, availableKiB: 900_000, swapTotalKiB: 0, swapFreeKiB: 0)
        // v1's "no limit" is a huge number.
        try "9223372036854771712\n".write(to: root.appendingPathComponent("memory.limit_in_bytes"), atomically: false, encoding: .utf8)
        try "1048576\n".write(to: root.appendingPathComponent("memory.usage_in_bytes"), atomically: false, encoding: .utf8)
        #expect(scope.memoryStatus(machine: machine) == nil)
        try "4194304\n".write(to: root.appendingPathComponent("memory.limit_in_bytes"), atomically: false, encoding: .utf8)
        #expect(scope.memoryStatus(machine: machine) == MemoryStatus(totalKiB: 4096, availableKiB: 3072, swapTotalKiB: 0, swapFreeKiB: 0))
    }
}
