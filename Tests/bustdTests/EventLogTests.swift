import Foundation
import Shared
import Testing

@testable import bustd

@Suite struct EventLogTests {
    func retained(_ sequence: UInt64) -> RetainedEvent {
        RetainedEvent(sequence: sequence, subjectUID: UInt32(sequence % 3), line: Array("\(sequence)\n".utf8), redactedLine: nil)
    }

    /// subject nil: everyone's (kernel OOM); a uid: that user's; redacted:
    /// a warning everyone sees, its victim only by its owner.
    func event(_ sequence: UInt64, subject: UInt32?, redacted: Bool = false) -> RetainedEvent {
        var retained = retained(sequence)
        retained.subjectUID = subject
        retained.redactedLine = redacted ? Array("r\n".utf8) : nil
        return retained
    }

    /// A user's own peers number events by what that user may see: the
    /// count of other users' events shows neither in the numbers nor in
    /// the gaps between them.
    @Test func eachUserNumbersOnlyWhatItMaySee() {
        var log = EventLog()
        let subjects: [(UInt32?, Bool)] = [
            (nil, false), (1000, false), (1001, false), (1001, false), (1001, true),
            (1000, false), (1001, false),
        ]
        for (subject, redacted) in subjects {
            _ = log.append { self.event($0, subject: subject, redacted: redacted) }
        }
        // uid 1000 saw: the kernel OOM, its kill, the redacted warning, its next kill.
        #expect(log.visibleTotal(uid: 1000) == 4)
        #expect(log.visibleRange(uid: 1000) == 1...4)
        // uid 1001: the kernel OOM, three of its own, the warning.
        #expect(log.visibleTotal(uid: 1001) == 5)
        // A user with no events of its own sees only what everyone does.
        #expect(log.visibleTotal(uid: 4242) == 2 && log.visibleRange(uid: 4242) == 1...2)
        // uid 1000 saw up to its 2nd: it resumes at the warning (global 5).
        #expect(log.resumePoint(uid: 1000, since: 2)! == (5, 2))
        #expect(log.resumePoint(uid: 1000, since: 0)! == (1, 0))
        #expect(log.resumePoint(uid: 1000, since: 4) == nil)
        #expect(log.resumePoint(uid: 1001, since: 3)! == (5, 3))
    }

    @Test func aLineIsRenumberedInPlace() {
        let line = Array(#"{"v":1,"type":"kill","seq":4711,"instance":"x","name":"seq:9"}"#.utf8)
        let digits = sequenceDigits(in: line)
        #expect(
            String(decoding: renumbered(line, digits: digits, sequence: 3), as: UTF8.self)
                == #"{"v":1,"type":"kill","seq":3,"instance":"x","name":"seq:9"}"#)
        #expect(sequenceDigits(in: Array("no number".utf8)) == nil)
    }

    @Test func numbersFromOneAndFindsBySequence() {
        var log = EventLog()
        #expect(log.oldestSequence == nil && log.newestSequence == nil && log.nextSequence == 1)
        for _ in 0..<3 { _ = log.append(retained) }
        #expect(log.oldestSequence == 1 && log.newestSequence == 3 && log.nextSequence == 4)
        #expect(log.event(2)?.line == Array("2\n".utf8))
        #expect(log.event(0) == nil && log.event(4) == nil)
    }

    @Test func keepsOnlyTheLastCapacityEvents() {
        var log = EventLog()
        let total = EventLog.capacity + 44
        for _ in 0..<total { _ = log.append(retained) }
        #expect(log.oldestSequence == UInt64(total - EventLog.capacity + 1))
        #expect(log.newestSequence == UInt64(total))
        #expect(log.event(44) == nil)
        for sequence in log.oldestSequence!...log.newestSequence! {
            #expect(log.event(sequence)?.sequence == sequence)
        }
    }
}

@Suite struct SystemFilesTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sys-\(UUID())").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test func userAndGroupNamesFromTheFiles() throws {
        let passwd = try write("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken line\n:x:\n")
        #expect(UserDatabase.userName(uid: 1000, userdb: "/nonexistent", passwd: passwd) == "alice")
        #expect(UserDatabase.userName(uid: 0, userdb: "/nonexistent", passwd: passwd) == "root")
        #expect(UserDatabase.userName(uid: 4242, userdb: "/nonexistent", passwd: passwd) == nil)
        #expect(UserDatabase.userName(uid: 0, userdb: "/nonexistent", passwd: "/nonexistent") == nil)
        let group = try write("root:x:0:\nbustd:x:977:alice,bob\n")
        #expect(UserDatabase.groupID(named: "bustd", userdb: "/nonexistent", group: group) == 977)
        #expect(UserDatabase.groupID(named: "bust", userdb: "/nonexistent", group: group) == nil)
    }

    @Test func groupsOfARunningProcessIncludeSupplementaryOnes() throws {
        let proc = try FakeProc()
        try proc.add(pid: 50)
        try "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t4 24 977 \n"
            .write(toFile: proc.path + "/50/status", atomically: false, encoding: .utf8)
        #expect(UserDatabase.groups(ofProcess: 50, proc: proc.directory()) == [1000, 4, 24, 977])
        #expect(UserDatabase.groups(ofProcess: 51, proc: proc.directory()) == [])
    }

    @Test func kernelOOMCounter() {
        #expect(withBytes("nr_free_pages 5\noom_kill 7\nfoo 1\n") { parseOOMKillCount($0) } == 7)
        #expect(withBytes("nr_free_pages 5\noom_killer 9\n") { parseOOMKillCount($0) } == nil)
        // First line, last line without its newline, and a key inside a line.
        #expect(withBytes("oom_kill 3\nfoo 1\n") { parseOOMKillCount($0) } == 3)
        #expect(withBytes("foo 1\noom_kill 12") { parseOOMKillCount($0) } == 12)
        #expect(withBytes("xoom_kill 4\noom_kill 5\n") { parseOOMKillCount($0) } == 5)
        #expect(withBytes("foo 1\noom_kill") { parseOOMKillCount($0) } == nil)
        #expect(KernelOOMWatcher()?.newKills(nowMs: 0) == 0)
    }

    /// With --scope, the scope's own memory.events counts the kernel's OOM
    /// kills (Setup: KernelOOMWatcher.scoped), re-read in place.
    @Test func aScopedWatcherCountsTheScopesOwnKills() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memcg-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let events = "low 0\nhigh 0\nmax 4\noom 2\noom_kill %d\noom_group_kill 0\n"
        try String(format: events, 1).write(toFile: directory + "/memory.events", atomically: false, encoding: .utf8)
        let watcher = try #require(KernelOOMWatcher.scoped(to: directory), "no watcher for a scope with memory.events")
        #expect(watcher.source == .memoryEvents)
        #expect(watcher.counterName == directory + "/memory.events oom_kill")
        #expect(watcher.newKills(nowMs: 0) == 0, "kills before the start are not new")
        try String(format: events, 3).write(toFile: directory + "/memory.events", atomically: false, encoding: .utf8)
        #expect(watcher.newKills(nowMs: 1) == 2)
        #expect(KernelOOMWatcher.scoped(to: directory + "/none") == nil)
    }

    @Test func kernelOOMCounterIsReadBeforeALookThatWouldComeLate() throws {
        let watcher = try #require(KernelOOMWatcher())
        _ = watcher.newKills(nowMs: 1000)
        // Looks every 3.3 s: read at the third, 9.9 s after, not the fourth.
        #expect(!watcher.isDue(nowMs: 4300, nextLookInMs: 3300))
        #expect(!watcher.isDue(nowMs: 7600, nextLookInMs: 3300))
        #expect(watcher.isDue(nowMs: 10_900, nextLookInMs: 3300))
        _ = watcher.newKills(nowMs: 10_900)
        #expect(!watcher.isDue(nowMs: 10_900, nextLookInMs: 5000))
        // Overdue (a long stall): read at once.
        #expect(watcher.isDue(nowMs: 40_000, nextLookInMs: 100))
    }

    @Test func socketDirectory() {
        #expect(parentDirectory(of: "/run/bustd/bustd.sock") == "/run/bustd")
        #expect(parentDirectory(of: "/bustd.sock") == "/")
        #expect(parentDirectory(of: "bustd.sock") == ".")
    }

    @Test func warningsStartAtOneAndAHalfTimesTheThresholds() throws {
        let config = RuleConfig(try options())
        func status(_ available: Int64, _ swap: Int64) -> MemoryStatus {
            MemoryStatus(totalKiB: 10_000, availableKiB: available, swapTotalKiB: 10_000, swapFreeKiB: swap)
        }
        #expect(isApproachingLowMemory(status(1500, 1500), config: config))
        #expect(!isApproachingLowMemory(status(1501, 0), config: config))
        #expect(!isApproachingLowMemory(status(0, 1501), config: config))
    }
}

@Suite struct PeerLogLimiterTests {
    @Test func aFewLinesPerUserAndKindThenASummary() {
        var limiter = PeerLogLimiter()
        var said: [String] = []
        let allowed = (0..<50).filter { _ in limiter.allow("dropping event peer", uid: 1001, nowMs: 1000, say: { said.append($0) }) }
        #expect(allowed.count == PeerLogLimiter.linesPerWindow)
        // Another user, and another kind, have their own allowance.
        let otherUser = limiter.allow("dropping event peer", uid: 1002, nowMs: 1000, say: { said.append($0) })
        let otherKind = limiter.allow("refusing event peer", uid: 1001, nowMs: 1000, say: { said.append($0) })
        #expect(otherUser && otherKind)
        #expect(said.isEmpty)
        limiter.flush(nowMs: 1000 + PeerLogLimiter.windowMs - 1) { said.append($0) }
        #expect(said.isEmpty)
        limiter.flush(nowMs: 1000 + PeerLogLimiter.windowMs) { said.append($0) }
        #expect(said == ["47 more lines like 'dropping event peer' about uid 1001 in the last 60 s"])
        let nextMinute = limiter.allow("dropping event peer", uid: 1001, nowMs: 1000 + PeerLogLimiter.windowMs, say: { said.append($0) })
        #expect(nextMinute)
    }
}
