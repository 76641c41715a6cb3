import Foundation
import Testing

@testable import bustd

/// The real daemon asks a userdb varlink service the test runs (through
/// BUSTD_USERDB_SOCKET, checked as systemd's socket would be) for a uid
/// that /etc/passwd does not know.
@Suite(.serialized) struct UserDatabaseIntegrationTests {
    static let ldapUID: UInt32 = 4242
    static let unknownToPasswd =
        (try? String(contentsOfFile: "/etc/passwd", encoding: .utf8))?.split(separator: "\n").allSatisfy {
            $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(2).first != "\(ldapUID)"
        } ?? false

    func socketDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-sock-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        return directory
    }

    func killEvents(_ out: String) throws -> [[String: Any]] {
        try EventPeers.lines(out).filter { $0["type"] as? String == "kill" }
    }

    @Test(.needsRoot, .enabled(if: unknownToPasswd, "uid 4242 is in /etc/passwd"))
    func aUidKnownOnlyToUserdbIsNamedInEvents() throws {
        let userdb = try FakeUserdb(.answer([Self.ldapUID: "ldapuser"]))
        defer { userdb.close() }
        let cgroup = try TestCgroup()
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        // The victim first: the rule holds from the start (-m 100).
        let hog = try Child.hog("udb-hog", mb: 16, cgroup: cgroup, asUser: Self.ldapUID)
        let run = try DaemonRun(
            ["-n", "--dry-run", "--scope", cgroup.path, "-m", "100", "-s", "100", "--socket", socket],
            environment: ["BUSTD_USERDB_SOCKET": userdb.path])
        try run.waitForLine(containing: "publishing events on")
        // Subscribed since 0: replays what came before it connected.
        let (peer, out) = try EventPeers.start("listen", socket: socket, seconds: 4, extra: "0")
        peer.process.waitUntilExit()
        let kills = try killEvents(out)
        #expect(!kills.isEmpty, "no kill event; log:\n\(run.log)")
        for kill in kills {
            #expect(kill["pid"] as? Int == Int(hog.pid))
            #expect(kill["uid"] as? Int == Int(Self.ldapUID))
            #expect(kill["user"] as? String == "ldapuser")
        }
        // The dry run repeats its event; userdb was asked once (the cache).
        // Only the victim's uid: a rehearsal never asks.
        #expect(kills.count > 1)
        #expect(userdb.requests.count == 1 && userdb.requests.first?.contains("\"uid\":\(Self.ldapUID)") == true, "\(userdb.requests)")
        #expect(hog.isRunning, "a dry run signalled its victim")
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot, .enabled(if: unknownToPasswd, "uid 4242 is in /etc/passwd"))
    func aUserdbThatNeverAnswersDelaysNeitherTheSignalNorTheEventBeyondTheTimeout() throws {
        let userdb = try FakeUserdb(.neverAnswer)
        defer { userdb.close() }
        let cgroup = try TestCgroup()
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let hog = try Child.hog("udb-hang", mb: 16, cgroup: cgroup, asUser: Self.ldapUID)
        // Killing for real, confined to the test's cgroup.
        let run = try DaemonRun(
            [
                "-n", "--scope", cgroup.path, "-m", "100", "-s", "100", "--grace", "5",
                "--pidfile", Harness.privatePath(".pid"), "--socket", socket, "--verbose",
            ],
            environment: ["BUSTD_USERDB_SOCKET": userdb.path])
        try run.waitForLine(containing: "publishing events on")
        let (peer, out) = try EventPeers.start("listen", socket: socket, seconds: 4, extra: "0")
        #expect(hog.waitForSignal(timeout: 10) == SIGTERM)
        peer.process.waitUntilExit()
        let events = try EventPeers.lines(out)
        let kill = events.first { $0["type"] as? String == "kill" }
        #expect(kill?["uid"] as? Int == Int(Self.ldapUID))
        #expect(kill != nil && (kill?["user"] == nil || kill?["user"] is NSNull), "a name from a userdb that never answers")
        // The kill line comes before any lookup: its decision-to-signal
        // time does not include the lookup's 100 ms.
        let line = try run.waitForLine(containing: "SIGTERM signalled")
        let signalledMs = line.components(separatedBy: "SIGTERM signalled ").last.flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(signalledMs.map { $0 < 100 } == true, "\(line)")
        // The event waits for the lookup, at most its timeout: measured
        // between the kill line and the lookup's failure (the verbose
        // log's monotonic time stamps, "[seconds.ms]").
        let lookup = try run.waitForLine(containing: "userdb lookup failed")
        #expect(lookup.contains("timed out"), "\(lookup)")
        func stampMs(_ line: String) -> Int? {
            guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]") else { return nil }
            let parts = line[line.index(after: open)..<close].split(separator: ".")
            guard parts.count == 2, let seconds = Int(parts[0]), let ms = Int(parts[1]) else { return nil }
            return seconds * 1000 + ms
        }
        let lookupAfterKillLineMs = stampMs(lookup).flatMap { end in stampMs(line).map { end - $0 } }
        print(
            "kill line: SIGTERM signalled \(signalledMs ?? -1) ms after the decision; the lookup gave up \(lookupAfterKillLineMs ?? -1) ms after the kill line"
        )
        // The lookup runs after the signal, while the kill's event (and the
        // journal record the line may become) is composed, so it may end
        // just before the line is written or after it; either way within
        // the timeout plus scheduling slack: without the timeout it would
        // wait for the 5 s the test runs.
        #expect(lookupAfterKillLineMs.map { abs($0) < Int(UserDatabaseSocket.timeoutMs) + 400 } == true, "\(line)\n\(lookup)")
        #expect(userdb.requests.isEmpty)  // it never accepts
        #expect(run.stop() == 0)
    }

    @Test(.needsRoot) func aNumericSocketGroupIsAccepted() throws {
        let directory = try socketDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/bustd.sock"
        let run = try DaemonRun(
            ["-n", "--dry-run", "--socket", socket, "--socket-group", "4242"], environment: ["BUSTD_USERDB_SOCKET": "/nonexistent"])
        try run.waitForLine(containing: "publishing events on")
        // uid 1001 with gid 4242 as a supplementary group sees everything.
        let member = try Child(
            "/usr/bin/setpriv --reuid=1001 --regid=1001 --groups=4242 \(Harness.python) -c 'import socket; s = socket.socket(socket.AF_UNIX); s.connect(\"\(socket)\"); print(s.makefile().readline(), end=\"\")' > \(directory)/member.txt"
        )
        member.process.waitUntilExit()
        #expect(try String(contentsOfFile: directory + "/member.txt", encoding: .utf8).contains("\"scope\":\"all\""))
        #expect(run.stop() == 0)
    }
}
