import Foundation
import Testing
@testable import bustd

@Suite struct EventLogTests {
    func retained(_ sequence: UInt64) -> RetainedEvent {
        RetainedEvent(sequence: sequence, subjectUID: UInt32(sequence % 3), line: Array("\(sequence)\n".utf8), redactedLine: nil)
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
        #expect(UserDatabase.userName(uid: 1000, passwd: passwd) == "alice")
        #expect(UserDatabase.userName(uid: 0, passwd: passwd) == "root")
        #expect(UserDatabase.userName(uid: 4242, passwd: passwd) == nil)
        #expect(UserDatabase.userName(uid: 0, passwd: "/nonexistent") == nil)
        let group = try write("root:x:0:\nbustd:x:977:alice,bob\n")
        #expect(UserDatabase.groupID(named: "bustd", group: group) == 977)
        #expect(UserDatabase.groupID(named: "bust", group: group) == nil)
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
        #expect(KernelOOMWatcher()?.newKills(nowMs: 0) == 0)
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
