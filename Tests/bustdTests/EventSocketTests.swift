import Foundation
import Testing

@testable import bustd

/// The event socket of the real daemon: privacy between users, replay,
/// fan-out to many peers, and peers that misbehave.
@Suite(.serialized) struct EventSocketTests {
    func socketDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-sock-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o755])
        return directory
    }

    func pidFile() -> String {
        Harness.privatePath(".pid")
    }

    @Test(.needsRoot) func eachUserSeesOnlyItsOwnProcessesAndRootSeesAll() throws {
        let cgroup = try TestCgroup()
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun([
            "-n", "--scope", cgroup.path, "-m", "100", "-s", "100", "--cooldown", "0.3",
            "--grace", "5", "--pidfile", pidFile(), "--socket", socket,
        ])
        try run.waitForLine(containing: "publishing events on")
        let attributes = try FileManager.default.attributesOfItem(atPath: socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o666)

        let seconds = 14.0
        let (peerA, outA) = try EventPeers.start("listen", socket: socket, seconds: seconds, asUser: 1001)
        let (peerB, outB) = try EventPeers.start("listen", socket: socket, seconds: seconds, asUser: 1002)
        let (peerC, outC) = try EventPeers.start("listen", socket: socket, seconds: seconds, asUser: 1003)
        let (peerRoot, outRoot) = try EventPeers.start("listen", socket: socket, seconds: seconds)
        usleep(700_000)
        // Two victims of two users; the bigger goes first.
        let hogA = try Child.hog("ev-hog-a", mb: 64, cgroup: cgroup, asUser: 1001)
        let hogB = try Child.hog("ev-hog-b", mb: 32, cgroup: cgroup, asUser: 1002)
        #expect(hogA.waitForSignal(timeout: 12) == SIGTERM)
        #expect(hogB.waitForSignal(timeout: 12) == SIGTERM)
        for peer in [peerA, peerB, peerC, peerRoot] { peer.process.waitUntilExit() }

        func summary(_ out: String) throws -> [String] {
            try EventPeers.lines(out).map { "\($0["type"] as? String ?? "?"):\(($0["pid"] as? Int).map(String.init) ?? "-")" }
        }
        let a = try EventPeers.lines(outA)
        let b = try EventPeers.lines(outB)
        let c = try EventPeers.lines(outC)
        let root = try EventPeers.lines(outRoot)
        #expect(a.first?["scope"] as? String == "own-uid" && a.first?["peer_uid"] as? Int == 1001)
        #expect(root.first?["scope"] as? String == "all")
        #expect(try summary(outA) == ["hello:-", "kill:\(hogA.pid)", "killed:\(hogA.pid)"])
        #expect(try summary(outB) == ["hello:-", "kill:\(hogB.pid)", "killed:\(hogB.pid)"])
        #expect(try summary(outC) == ["hello:-"])
        #expect(try summary(outRoot) == ["hello:-", "kill:\(hogA.pid)", "killed:\(hogA.pid)", "kill:\(hogB.pid)", "killed:\(hogB.pid)"])
        // Nothing of one user's processes reaches another user.
        let rawA = try String(contentsOfFile: outA, encoding: .utf8)
        #expect(!rawA.contains("ev-hog-b") && !rawA.contains("\\\"pid\\\":\(hogB.pid),"))
        #expect(c.count == 1)
        let kill = try #require(a.first { $0["type"] as? String == "kill" })
        #expect(kill["name"] as? String == "ev-hog-a")
        #expect(kill["uid"] as? Int == 1001 && kill["rule"] as? String == "low-memory" && kill["signal"] as? String == "SIGTERM")
        #expect(kill["dry_run"] as? Bool == false)
        #expect((kill["rss_kib"] as? Int ?? 0) > 60_000)
        #expect(b.count == 3)

        // A notifier that starts afterwards and asks for everything since
        // 0 gets the four events it missed, in order.
        let (late, outLate) = try EventPeers.start("listen", socket: socket, seconds: 1.5, extra: "0")
        late.process.waitUntilExit()
        let replayed = try EventPeers.lines(outLate).map { $0["seq"] as? Int ?? -1 }
        #expect(replayed == [4, 1, 2, 3, 4], "hello (newest 4), then the four events")
        // A user's peer numbers only that user's events: the hello of a
        // user with none says nothing of the four, and user B's sees two.
        let (lateC, outLateC) = try EventPeers.start("listen", socket: socket, seconds: 1.5, extra: "0", asUser: 1003)
        let (lateB, outLateB) = try EventPeers.start("listen", socket: socket, seconds: 1.5, extra: "0", asUser: 1002)
        lateC.process.waitUntilExit()
        lateB.process.waitUntilExit()
        let helloC = try #require(try EventPeers.lines(outLateC).first)
        #expect(helloC["seq"] as? Int == 0 && helloC["newest_seq"] is NSNull && helloC["oldest_seq"] is NSNull, "\(helloC)")
        #expect(try EventPeers.lines(outLateC).count == 1)
        #expect(
            try EventPeers.lines(outLateB).map { $0["seq"] as? Int ?? -1 } == [2, 1, 2],
            "hello (newest 2 in B's count), then B's kill and killed, renumbered 1 and 2")
        #expect(run.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket), "socket left behind")
    }

    /// A dry run over a cgroup of its own with one victim, deciding every
    /// `cooldown` seconds: a steady stream of kill events on its socket.
    final class DryRunKillStream {
        let cgroup: TestCgroup
        let directory: String
        let socket: String
        let victim: Child
        let run: DaemonRun

        init(cooldown: String, directory: String) throws {
            self.directory = directory
            cgroup = try TestCgroup()
            socket = directory + "/bustd.sock"
            victim = try Child.hog("ev-dry", mb: 16, cgroup: cgroup)
            run = try DaemonRun([
                "-n", "--dry-run", "--scope", cgroup.path, "-m", "100", "-s", "100",
                "--cooldown", cooldown, "--socket", socket,
            ])
            try run.waitForLine(containing: "publishing events on")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test(.needsRoot) func aThousandPeersAndMisbehavingOnesDoNotDelayEvents() throws {
        // A kill event every 0.5 s.
        let stream = try DryRunKillStream(cooldown: "0.5", directory: try socketDirectory())
        let (run, socket, dryVictim) = (stream.run, stream.socket, stream.victim)
        usleep(300_000)
        let rssBefore = try residentKiB(run.process.processIdentifier)

        let (noReader, _) = try EventPeers.start("noread", socket: socket, seconds: 12)
        let (garbage, outGarbage) = try EventPeers.start("garbage", socket: socket, seconds: 10)
        let (halfLine, _) = try EventPeers.start("halfline", socket: socket, seconds: 1)
        let (halfClosed, outHalfClosed) = try EventPeers.start("halfclose", socket: socket, seconds: 6)
        let (many, outMany) = try EventPeers.start("many", socket: socket, seconds: 8, extra: "1000")
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: outMany + ".ready") { usleep(20_000) }
        usleep(2_000_000)
        let rssWith1000 = try residentKiB(run.process.processIdentifier)
        many.process.waitUntilExit()
        garbage.process.waitUntilExit()
        halfLine.process.waitUntilExit()

        let result = try EventPeers.json(outMany)
        let hellos = result["hellos"] as? [Int] ?? []
        let arrivals = result["arrivals"] as? [[String: Double]] ?? []
        #expect(hellos.count == 1000 && hellos.allSatisfy { $0 == 1 })
        #expect((result["closed"] as? [Bool] ?? []).allSatisfy { !$0 }, "a good peer was dropped")
        // Every event that reached one peer reached all 1,000, and the last
        // copy left no later than 250 ms after the first.
        var sequences = Set<String>()
        for peer in arrivals { sequences.formUnion(peer.keys) }
        let complete = sequences.filter { sequence in arrivals.allSatisfy { $0[sequence] != nil } }
        #expect(complete.count >= 5, "only \(complete.count) events reached every peer")
        var worstSpread = 0.0
        for sequence in complete {
            let times = arrivals.compactMap { $0[sequence] }
            worstSpread = max(worstSpread, times.max()! - times.min()!)
        }
        print(
            "1,000 peers: \(complete.count) events to all, worst fan-out spread \(Int(worstSpread * 1000)) ms; RSS \(rssBefore) -> \(rssWith1000) KiB"
        )
        #expect(worstSpread < 0.25)
        #expect(rssWith1000 - rssBefore < 8 * 1024, "RSS grew by \(rssWith1000 - rssBefore) KiB for 1,000 peers")

        halfClosed.process.waitUntilExit()
        // A peer that only shut down its writing side still gets events.
        #expect((try EventPeers.json(outHalfClosed)["lines"] as? Int ?? 0) >= 5)
        let garbageResult = try EventPeers.json(outGarbage)
        #expect(garbageResult["dropped"] as? Bool == true, "the garbage writer was never dropped")
        #expect(run.log.contains("wrote more than 4096 bytes"))
        #expect(run.process.isRunning)
        #expect(dryVictim.isRunning, "a dry run signalled its victim")
        noReader.stop()
        #expect(run.stop() == 0)
    }

    /// A peer that stops reading costs a cursor into the event log, not a
    /// copy of its backlog: once more events than the log keeps have passed
    /// it by, bustd hangs up on it, while the peers that read get every
    /// event and the daemon goes on.
    @Test(.needsRoot) func aPeerThatNeverReadsIsDroppedOnceTheLogPassesIt() throws {
        // No cooldown: a decision at every look, tens of kill events a
        // second, enough to fill the non-reader's socket buffer and then
        // pass it by more than the log keeps within seconds.
        let stream = try DryRunKillStream(cooldown: "0", directory: try socketDirectory())
        let (run, socket, dryVictim) = (stream.run, stream.socket, stream.victim)
        let (readers, outReaders) = try EventPeers.start("many", socket: socket, seconds: 60, extra: "3")
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: outReaders + ".ready") { usleep(20_000) }
        let (noReader, outNoReader) = try EventPeers.start("noread", socket: socket, seconds: 40)
        _ = noReader.waitForSignal(timeout: 45)
        #expect(!noReader.isRunning, "the non-reader did not exit")
        FileManager.default.createFile(atPath: outReaders + ".stop", contents: nil)
        readers.process.waitUntilExit()

        let dropped = try EventPeers.json(outNoReader)
        print("the peer that never reads: \(dropped)")
        #expect(dropped["hup_after"] is Double, "the peer that never reads was never dropped")
        #expect(dropped["ended"] as? String == "eof" || dropped["ended"] as? String == "reset", "\(dropped)")
        #expect(run.log.contains("dropping event peer pid \(noReader.pid) uid 0: it stopped reading and missed events"))
        // The readers: connected all along, every event without a gap,
        // more of them than the log keeps.
        let result = try EventPeers.json(outReaders)
        #expect(result["hellos"] as? [Int] == [1, 1, 1])
        #expect(result["closed"] as? [Bool] == [false, false, false], "a reader was dropped")
        for arrivals in result["arrivals"] as? [[String: Double]] ?? [] {
            let sequences = arrivals.keys.compactMap { Int($0) }.sorted()
            #expect(sequences.count > EventLog.capacity, "only \(sequences.count) events")
            #expect(sequences.last.map { $0 - sequences[0] + 1 } == sequences.count, "a reader missed events")
        }
        #expect(run.process.isRunning)
        #expect(dryVictim.isRunning, "a dry run signalled its victim")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot, .enabled(if: (try? String(contentsOfFile: "/etc/group", encoding: .utf8))?.contains("\nusers:x:100:") == true))
    func socketGroupMembersSeeEverything() throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun(["-n", "--dry-run", "--socket", socket, "--socket-group", "users"])
        try run.waitForLine(containing: "publishing events on")
        // uid 1001 with "users" (gid 100) as a supplementary group; uid 1002 without.
        let member = try Child(
            "/usr/bin/setpriv --reuid=1001 --regid=1001 --groups=100 \(Harness.python) -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"\(socket)\"); print(s.makefile().readline(), end=\"\")' > \(directory)/member.txt"
        )
        let stranger = try Child(
            "/usr/bin/setpriv --reuid=1002 --regid=1002 --clear-groups \(Harness.python) -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"\(socket)\"); print(s.makefile().readline(), end=\"\")' > \(directory)/stranger.txt"
        )
        member.process.waitUntilExit()
        stranger.process.waitUntilExit()
        #expect(try String(contentsOfFile: directory + "/member.txt", encoding: .utf8).contains("\"scope\":\"all\""))
        #expect(try String(contentsOfFile: directory + "/stranger.txt", encoding: .utf8).contains("\"scope\":\"own-uid\""))
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func staleSocketIsReplacedAndALiveOneRefused() throws {
        let cgroup = try TestCgroup()
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        // A socket file nobody listens on, as a crash leaves it.
        let stale = Child.pythonOneShot("import socket; s = socket.socket(socket.AF_UNIX); s.bind('\(socket)')")
        #expect(stale == 0 && FileManager.default.fileExists(atPath: socket))
        let first = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile(), "--socket", socket])
        try first.waitForLine(containing: "publishing events on")
        let second = try DaemonRun(["-n", "--scope", cgroup.path, "--pidfile", pidFile(), "--socket", socket])
        #expect(second.waitForExit() == 1)
        #expect(second.log.contains("another bustd is already serving events on"))
        #expect(first.stop() == 0)
    }

    /// One user opening connections that each write too much gets a few
    /// log lines a minute, not one per connection, and other users' lines
    /// are not held back by it.
    @Test(.needsRoot) func aFloodingUserCannotFloodTheLog() throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun(["-n", "--dry-run", "--socket", socket])
        try run.waitForLine(containing: "publishing events on")
        let (flood, outFlood) = try EventPeers.start("flood", socket: socket, seconds: 30, extra: "300", asUser: 1001)
        flood.process.waitUntilExit()
        #expect(try EventPeers.json(outFlood)["dropped"] as? Int == 300, "not every flooding connection was dropped")
        let (other, _) = try EventPeers.start("flood", socket: socket, seconds: 10, extra: "1", asUser: 1002)
        other.process.waitUntilExit()
        usleep(200_000)
        let aboutFlooder = run.lines.filter { $0.contains("dropping event peer") && $0.contains("uid 1001") }
        let aboutOther = run.lines.filter { $0.contains("dropping event peer") && $0.contains("uid 1002") }
        #expect(aboutFlooder.count == PeerLogLimiter.linesPerWindow, "\(aboutFlooder.count) lines for 300 drops")
        #expect(aboutOther.count == 1)
        #expect(run.stop() == 0)
    }

    /// As root, bustd replaces nothing at --socket but a dead socket: a
    /// file there (a typo like --socket /etc/passwd), a directory or a
    /// symbolic link (dangling or not) is refused with its own message and
    /// left as it was.
    @Test(.needsRoot) func onlyASocketIsEverReplaced() throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/precious"
        try "keep me\n".write(toFile: file, atomically: false, encoding: .utf8)
        let onFile = try DaemonRun(["-n", "--dry-run", "--socket", file])
        #expect(onFile.waitForExit() == 1)
        #expect(onFile.log.contains("exists and is not a socket; refusing to replace it"), "\(onFile.log)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me\n")

        let subdirectory = directory + "/dir"
        try FileManager.default.createDirectory(atPath: subdirectory, withIntermediateDirectories: false)
        let onDirectory = try DaemonRun(["-n", "--dry-run", "--socket", subdirectory])
        #expect(onDirectory.waitForExit() == 1)
        #expect(onDirectory.log.contains("is a directory"), "\(onDirectory.log)")
        #expect(!onDirectory.log.contains("Address already in use"))

        for target in [file, directory + "/nowhere"] {
            let link = directory + "/link-\(UUID().uuidString.prefix(4))"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            let onLink = try DaemonRun(["-n", "--dry-run", "--socket", link])
            #expect(onLink.waitForExit() == 1)
            #expect(onLink.log.contains("is a symbolic link; refusing to replace it"), "\(onLink.log)")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target, "the link was touched")
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me\n")
    }

    @Test(.needsRoot) func refusesAWorldWritableSocketDirectoryAndAnUnknownGroup() throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o777)
        let run = try DaemonRun(["-n", "--dry-run", "--socket", directory + "/bustd.sock"])
        #expect(run.waitForExit() == 1)
        #expect(run.log.contains("writable by others"))
        let group = try DaemonRun(["-n", "--dry-run", "--socket", directory + "/bustd.sock", "--socket-group", "no-such-group-x"])
        #expect(group.waitForExit() == 2)
        #expect(group.log.contains("no such group"))
    }

    @Test(.needsRoot) func warningsNameTheNextVictimOnlyToItsOwner() throws {
        let cgroup = try TestCgroup()
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let hog = try Child.hog("ev-warn", mb: 16, cgroup: cgroup)
        // 67 %: no rule fires at 98 % available, but the warning level
        // (1.5 x 67 %, capped at 100 %) is reached.
        let run = try DaemonRun(["-n", "--dry-run", "--scope", cgroup.path, "-m", "67", "-s", "67", "--socket", socket])
        try run.waitForLine(containing: "publishing events on")
        // Both ask for everything since 0: the warning comes by replay.
        let (rootPeer, outRoot) = try EventPeers.start("listen", socket: socket, seconds: 2, extra: "0")
        let (userPeer, outUser) = try EventPeers.start("listen", socket: socket, seconds: 2, extra: "0", asUser: 1001)
        rootPeer.process.waitUntilExit()
        userPeer.process.waitUntilExit()
        let line = try run.waitForLine(containing: "memory is getting low")
        #expect(line.contains("pid \(hog.pid) \"ev-warn\" would be killed first"))
        #expect(line.contains("; if available memory drops to 67%"))
        #expect(!run.log.contains("would kill pid"))
        let warning = try #require(try EventPeers.lines(outRoot).first { $0["type"] as? String == "warning" })
        #expect(warning["victim_pid"] as? Int == Int(hog.pid))
        #expect(warning["victim_name"] as? String == "ev-warn")
        let redacted = try #require(try EventPeers.lines(outUser).first { $0["type"] as? String == "warning" })
        #expect(redacted["victim_pid"] is NSNull || redacted["victim_pid"] == nil)
        #expect(!(try String(contentsOfFile: outUser, encoding: .utf8)).contains("ev-warn"))
        #expect(run.stop() == 0)
    }

    /// A kernel OOM kill, confined to a memory cgroup with a 24 MiB limit
    /// that a 64 MiB process overruns: under the memory controller of
    /// cgroup v1 (hybrid machines), and of cgroup v2 where it is there.
    @Test(.needsRoot, .enabled(if: Harness.hasV1MemoryController, "needs the cgroup v1 memory controller (/sys/fs/cgroup/memory)"))
    func kernelOOMKillsAreReportedUnderCgroupV1() throws {
        try reportsAKernelOOMKill(in: TestCgroup(memory: .v1))
    }

    @Test(
        .needsRoot,
        .enabled(
            if: Harness.hasV2MemoryController,
            "needs the memory controller on cgroup v2 (\"memory\" in the cgroup2 mount's cgroup.controllers); hybrid machines have it on v1"
        ))
    func kernelOOMKillsAreReportedUnderCgroupV2() throws {
        try reportsAKernelOOMKill(in: TestCgroup(memory: .v2))
    }

    func reportsAKernelOOMKill(in memcg: TestCgroup) throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun(["-n", "--dry-run", "--socket", socket])
        try run.waitForLine(containing: "publishing events on")
        // A bustd scoped to another cgroup watches that cgroup's own
        // counter (memory.events), not the machine's: it must say nothing.
        let elsewhere = try TestCgroup()
        let scoped = try DaemonRun(["-n", "--dry-run", "--socket", directory + "/scoped.sock", "--scope", elsewhere.path])
        try scoped.waitForLine(containing: "dry run:")
        let (peer, out) = try EventPeers.start("listen", socket: socket, seconds: 17)
        try memcg.setMemoryLimit(bytes: 24 << 20, withoutSwap: true)
        let victim = try Child("\(Harness.python) -c \"b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\"", cgroup: memcg)
        #expect(victim.waitForSignal(timeout: 10) == SIGKILL)
        // Memory is plentiful, so the counter is read every 10 s: the report
        // is due within 10 s of the kill (a margin for a busy machine).
        try run.waitForLine(containing: "the kernel's OOM killer killed", timeout: 14)
        peer.process.waitUntilExit()
        let event = try #require(try EventPeers.lines(out).first { $0["type"] as? String == "kernel-oom" })
        #expect((event["count"] as? Int ?? 0) >= 1 && event["source"] as? String == "vmstat")
        #expect(run.stop() == 0)
        #expect(scoped.stop() == 0)
        #expect(!scoped.log.contains("the kernel's OOM killer killed"), "\(scoped.log)")
    }

    func residentKiB(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return Int(line.split(separator: " ")[1]) ?? 0
    }
}
