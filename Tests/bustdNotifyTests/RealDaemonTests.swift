import Foundation
import Testing

/// The whole chain: the real bustd (root) kills a process of the session's
/// user, confined to a cgroup the test owns, and bustd-notify (that user)
/// raises the desktop notification on a real session bus.
@Suite(.serialized, .enabled(if: NotifySession.canRun && RealDaemon.cgroup2Mount != nil, "needs root, cgroup v2, dbus and python3-dbus"))
struct RealDaemonTests {
    @Test func aRealKillReachesTheDesktopWithin100ms() throws {
        let session = try NotifySession()
        try session.startBus()
        try session.startNotificationServer()
        let cgroup = try RealDaemon.makeCgroup()
        defer { RealDaemon.removeCgroup(cgroup) }
        // The scope is empty at first: bustd finds nothing to kill and
        // backs off, while the notifier connects.
        let daemon = try RealDaemon([
            "-n", "--scope", cgroup, "-m", "100", "-s", "100", "--cooldown", "30",
            "--grace", "5", "--pidfile", session.socketPath + ".pid", "--socket", session.socketPath,
        ])
        defer { daemon.stop() }
        try session.waitFor("the daemon's socket") { FileManager.default.fileExists(atPath: session.socketPath) }
        let recorder = try RealDaemon.recordEvents(from: session.socketPath, into: session.sessionDirectory + "/events.json")
        defer { recorder.terminate() }
        try session.startNotifier()
        try session.waitFor("the notifier to subscribe") { session.notifierLog.contains("connected") || daemon.peersConnected >= 2 }

        let hog = try RealDaemon.startHog(name: "e2e-hog", cgroup: cgroup, uid: NotifySession.user)
        try session.waitFor("the kill notification", timeout: 15) { session.notifyCalls.count >= 1 }
        let call = session.notifyCalls[0]
        #expect(call["summary"] as? String == "bustd killed e2e-hog (PID \(hog.processIdentifier))")
        #expect((call["body"] as? String ?? "").contains("Available memory was"))
        #expect(call["urgency"] as? Int == 2)
        hog.waitUntilExit()
        #expect(hog.terminationReason == .uncaughtSignal && hog.terminationStatus == SIGTERM)

        // The kill event's own time stamp is when it left the daemon.
        try session.waitFor("the recorded kill event") {
            RealDaemon.events(session.sessionDirectory + "/events.json").contains { $0["type"] as? String == "kill" }
        }
        let event = try #require(RealDaemon.events(session.sessionDirectory + "/events.json").first { $0["type"] as? String == "kill" })
        // A missing time must fail, not count as 0.
        let calledAt = try #require(call["time"] as? Double, "the Notify call has no time: \(call)")
        let sentAtMs = try #require(event["time"] as? Int, "the kill event has no time: \(event)")
        let latencyMs = calledAt * 1000 - Double(sentAtMs)
        print("bustd -> bustd-notify -> Notify: \(String(format: "%.1f", latencyMs)) ms after the kill event left the daemon")
        #expect(latencyMs >= 0 && latencyMs < 100)

        // The killed event updates the same notification. (How much memory
        // came back is the machine's figure: 32 MiB is lost in its noise.)
        try session.waitFor("the update from the killed event") { session.notifyCalls.count >= 2 }
        let update = session.notifyCalls[1]
        #expect(update["replaces_id"] as? Int == call["id"] as? Int)
        let body = update["body"] as? String ?? ""
        #expect(body.contains("freed") || body.contains("No memory came back"))
    }
}

/// The real bustd built beside the test bundle, and what the test needs
/// around it.
final class RealDaemon {
    let process = Process()
    let logPath: String

    static var binary: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("bustd").path
    }

    init(_ arguments: [String]) throws {
        logPath = NSTemporaryDirectory() + "bustd-e2e-\(UUID()).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["-V"] + arguments
        let log = FileHandle(forWritingAtPath: logPath)!
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var peersConnected: Int { log.components(separatedBy: "connected; it sees").count - 1 }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    static var cgroup2Mount: String? {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields: [Substring] = line.split(separator: " ")
            if fields.count > 2 && fields[2] == "cgroup2" { return String(fields[1]) }
        }
        return nil
    }

    static func makeCgroup() throws -> String {
        let path = cgroup2Mount! + "/bustd-notify-e2e-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    static func removeCgroup(_ path: String) {
        try? "1".write(toFile: path + "/cgroup.kill", atomically: false, encoding: .utf8)
        for _ in 0..<100 where rmdir(path) != 0 { usleep(20_000) }
    }

    /// A 32 MiB python process of uid, inside the cgroup, named `name`.
    static func startHog(name: String, cgroup: String, uid: String) throws -> Process {
        let program =
            "import signal, time; signal.pthread_sigmask(signal.SIG_SETMASK, []); open('/proc/self/comm', 'w').write('\(name)'); b = b'x' * (32 << 20); time.sleep(120)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "echo $$ > \(cgroup)/cgroup.procs && exec /usr/bin/setpriv --reuid=\(uid) --regid=\(uid) --clear-groups \(NotifySession.python) -c \"\(program)\"",
        ]
        try process.run()
        return process
    }

    /// A root subscriber that writes every event line it receives to a JSON array file.
    static func recordEvents(from socket: String, into path: String) throws -> Process {
        let program = """
            import json, socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rb'); lines = []
            for line in f:
                lines.append(json.loads(line)); json.dump(lines, open(sys.argv[2] + '.tmp', 'w'))
                import os; os.replace(sys.argv[2] + '.tmp', sys.argv[2])
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NotifySession.python)
        process.arguments = ["-c", program, socket, path]
        try process.run()
        return process
    }

    static func events(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}
