import Foundation
import Testing

/// `bustd status` against a real daemon: what root and another user see,
/// --json, a daemon that does not answer, and a peer that asks in a loop.
@Suite(.serialized) struct StatusIntegrationTests {
    struct Answer {
        let status: Int32
        let output: String
        let errors: String
        let seconds: Double

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        }
    }

    /// Runs `bustd status ARGUMENTS` (as another user with setpriv).
    static func ask(_ arguments: [String], asUser uid: UInt32? = nil) throws -> Answer {
        let process = Process()
        if let uid {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid", "\(uid)", "--regid", "\(uid)", "--clear-groups", Harness.binary, "status"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: Harness.binary)
            process.arguments = ["status"] + arguments
        }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let started = Date()
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Answer(
            status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
            errors: String(decoding: err, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }

    /// A dry run over a cgroup of the test's with root's process in it,
    /// deciding (and counting would-be kills) every second.
    static func daemon() throws -> (TestCgroup, Child, DaemonRun, String) {
        let cgroup = try TestCgroup()
        let hog = try Child.hog("st-root-hog", mb: 24, cgroup: cgroup)
        let socket = Harness.privatePath(".sock")
        let run = try DaemonRun([
            "-n", "--dry-run", "--scope", cgroup.path, "-m", "100", "-s", "100", "--cooldown", "1", "--socket", socket,
        ])
        try run.waitForLine(containing: "publishing events on")
        try run.waitForLine(containing: "would kill pid")
        return (cgroup, hog, run, socket)
    }

    @Test(.needsRoot) func rootSeesTheCandidateAnotherUserOnlyTheFigures() throws {
        let (cgroup, hog, run, socket) = try Self.daemon()
        defer { withExtendedLifetime(cgroup) {} }

        let root = try Self.ask(["--socket", socket, "--json"])
        #expect(root.status == 0, "\(root.errors)")
        let seen = root.json
        #expect(seen["type"] as? String == "status" && seen["scope"] as? String == "all" && seen["peer_uid"] as? Int == 0)
        #expect(seen["candidate_pid"] as? Int == Int(hog.pid) && seen["candidate_name"] as? String == "st-root-hog")
        #expect((seen["candidate_rss_kib"] as? Int ?? 0) > 20_000)
        #expect((seen["kills"] as? Int ?? 0) >= 1 && seen["last_kill_pid"] as? Int == Int(hog.pid))
        #expect(seen["last_kill_signal"] as? String == "SIGTERM" && seen["dry_run"] as? Bool == true)
        #expect(seen["memory_terminate_percent"] as? Int == 100 && seen["pressure_cutoff_percent"] as? Int == 25)
        #expect((seen["available_kib"] as? Int ?? 0) > 0 && (seen["total_kib"] as? Int ?? 0) > 0)
        #expect((seen["poll_interval_ms"] as? Int ?? 0) > 0 && (seen["uptime_ms"] as? Int ?? 0) > 0)

        let text = try Self.ask(["--socket", socket])
        #expect(text.status == 0)
        #expect(text.output.contains("first candidate   pid \(hog.pid) (uid 0) \"st-root-hog\""), "\(text.output)")
        #expect(text.output.contains("available memory  ") && text.output.contains("SIGTERM at 100 %"))

        let nobody = try Self.ask(["--socket", socket, "--json"], asUser: 65534)
        #expect(nobody.status == 0, "\(nobody.errors)")
        let theirs = nobody.json
        #expect(theirs["scope"] as? String == "own-uid" && theirs["peer_uid"] as? Int == 65534)
        #expect(theirs["candidate_pid"] is NSNull && theirs["candidate_name"] is NSNull)
        #expect(theirs["last_kill_pid"] is NSNull && theirs["last_kill_time"] is NSNull && theirs["kills"] as? Int == 0)
        #expect((theirs["available_kib"] as? Int ?? 0) > 0 && theirs["memory_terminate_kib"] is Int)
        #expect(!nobody.output.contains("st-root-hog") && !nobody.output.contains("\(hog.pid),"))
        let nobodyText = try Self.ask(["--socket", socket], asUser: 65534)
        #expect(nobodyText.status == 0 && nobodyText.output.contains("none among your processes"))
        #expect(!nobodyText.output.contains("st-root-hog"))
        #expect(run.stop() == 0)
    }

    @Test func noDaemonIsAnErrorWithinTheTimeout() throws {
        let directory = Harness.privatePath("")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try Self.ask(["--socket", directory + "/none.sock"])
        #expect(missing.status == 1 && missing.errors.contains("cannot connect to"), "\(missing.errors)")
        #expect(missing.output.isEmpty)
        // A server that accepts and never answers (a stuck or older daemon).
        let socket = directory + "/mute.sock"
        let mute = try Child(
            "\(Harness.python) -c 'import socket, time; s = socket.socket(socket.AF_UNIX); s.bind(\"\(socket)\"); s.listen(); c = s.accept(); time.sleep(30)'"
        )
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: socket) { usleep(10_000) }
        let silent = try Self.ask(["--socket", socket])
        mute.stop()
        #expect(silent.status == 1 && silent.errors.contains("no answer from bustd"), "\(silent.errors)")
        #expect(silent.seconds >= 1.9 && silent.seconds < 5, "\(silent.seconds) s")
    }

    /// One connection that sends COUNT status requests at once, then reads
    /// for SECONDS; or, with COUNT 0, keeps sending until it is dropped.
    static let floodScript = #"""
        import json, socket, sys, time
        path, out, count, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        request = b'{"v":1,"type":"status"}\n'
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        end, dropped, sent = time.time() + seconds, False, 0
        try:
            if count:
                s.sendall(request * count)
                sent = count
            else:
                s.setblocking(False)
                while time.time() < end:
                    try:
                        sent += s.send(request * 10) // len(request)
                    except BlockingIOError:
                        pass
                    time.sleep(0.001)
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
        s.setblocking(True)
        s.settimeout(0.2)
        data = b""
        while time.time() < end and not dropped:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                dropped = True
                break
            if not chunk:
                dropped = True
                break
            data += chunk
        types = [json.loads(line).get("type") for line in data.split(b"\n") if line]
        json.dump({"sent": sent, "status": types.count("status"), "error": types.count("error"), "dropped": dropped}, open(out, "w"))
        """#

    static func flood(socket: String, count: Int, seconds: Double) throws -> (Child, String) {
        let out = Harness.privatePath(".json")
        let script = floodScript.replacingOccurrences(of: "'", with: "'\\''")
        return (try Child("\(Harness.python) -c '\(script)' \(socket) \(out) \(count) \(seconds)"), out)
    }

    @Test(.needsRoot) func aPeerAskingInALoopIsLimitedAndTheDaemonStaysResponsive() throws {
        let (cgroup, hog, run, socket) = try Self.daemon()
        defer { withExtendedLifetime((cgroup, hog)) {} }
        // 100 requests at once: a burst is served, the rest refused.
        let (burst, burstOut) = try Self.flood(socket: socket, count: 100, seconds: 1.5)
        burst.process.waitUntilExit()
        let burstResult = try EventPeers.json(burstOut)
        #expect(burstResult["dropped"] as? Bool == false, "100 requests fit the peer's input allowance")
        let served = burstResult["status"] as? Int ?? -1
        #expect(served >= 1 && served <= 4 + 2, "served \(served) of 100")
        #expect((burstResult["error"] as? Int ?? 0) >= 1, "no refusal line")

        // A peer sending as fast as it can: refused, then dropped; others
        // are answered meanwhile, promptly.
        let (loop, loopOut) = try Self.flood(socket: socket, count: 0, seconds: 4)
        usleep(300_000)
        var slowest = 0.0
        for _ in 0..<3 {
            let answer = try Self.ask(["--socket", socket, "--json"])
            #expect(answer.status == 0, "\(answer.errors)")
            slowest = max(slowest, answer.seconds)
        }
        #expect(slowest < 1.0, "an answer took \(slowest) s during the flood")
        loop.process.waitUntilExit()
        let loopResult = try EventPeers.json(loopOut)
        #expect(loopResult["dropped"] as? Bool == true, "\(loopResult)")
        #expect((loopResult["status"] as? Int ?? 99) <= 4 + 2)
        // Said in the log, within the limiter's few lines a minute.
        let refusals = run.lines.filter { $0.contains("asks for the status too often") }
        #expect(refusals.count >= 1 && refusals.count <= 3, "\(refusals.count) lines")
        #expect(run.lines.contains { $0.contains("dropping event peer") && $0.contains("wrote more than") })
        // Still deciding: a would-be kill after the flood.
        let before = run.lines.filter { $0.contains("would kill pid") }.count
        usleep(1_500_000)
        #expect(run.lines.filter { $0.contains("would kill pid") }.count > before, "\(run.log)")
        #expect(run.stop() == 0)
    }
}
