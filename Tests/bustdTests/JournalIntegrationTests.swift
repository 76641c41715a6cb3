import Foundation
import Testing

/// The real daemon under a journald stand-in: stderr is "journald's
/// stream" ($JOURNAL_STREAM names the log file), and $BUSTD_JOURNAL_SOCKET
/// points bustd at a socket the test binds and records.
@Suite(.serialized) struct JournalIntegrationTests {
    static let killID = "c7c2fccf30dd4c26bb588151ce40185b"
    static let startID = "8eee48c8b9f940faaccc195f4cc2e684"

    @Test(.needsRoot) func dryRunKillIsARecordWithTheVictimsFields() throws {
        let recorder = try JournalRecorder()
        let cgroup = try TestCgroup()
        let hog = try Child.hog("bt-jhog", mb: 24, cgroup: cgroup)
        let run = try DaemonRun(
            ["-n", "--dry-run", "--scope", cgroup.path, "-m", "100", "-s", "100", "--cooldown", "0.2"],
            environment: ["BUSTD_JOURNAL_SOCKET": recorder.path], journalStream: true)
        let kill = try recorder.waitForRecord { $0.text("MESSAGE_ID") == Self.killID }
        #expect(run.stop() == 0)
        #expect(kill.text("PRIORITY") == "5")
        #expect(kill.text("SYSLOG_IDENTIFIER") == "bustd")
        #expect(kill.text("BUSTD_KIND") == "kill")
        #expect(kill.text("MESSAGE")?.hasPrefix("dry run: would kill pid \(hog.pid) ") == true, "\(describeJournalRecord(kill))")
        #expect(kill.text("BUSTD_PID") == "\(hog.pid)")
        #expect(kill.text("BUSTD_UID") == "0")
        #expect(kill.text("BUSTD_NAME") == "bt-jhog")
        #expect(kill.text("BUSTD_EXE")?.contains("python") == true)
        // python -c 'SCRIPT' bt-jhog ...: the script's newlines arrive
        // exactly (the length form), cut at 1 KiB as in the log line.
        #expect(kill.text("BUSTD_CMDLINE")?.hasPrefix("\(Harness.python) -c ") == true)
        #expect(kill["BUSTD_CMDLINE"]?.contains(0x0A) == true)
        #expect(kill["BUSTD_CMDLINE"]?.count == 1024)
        #expect(kill.text("BUSTD_CMDLINE_TRUNCATED") == "1")
        #expect(kill.text("BUSTD_RULE") == "low-memory")
        #expect(kill.text("BUSTD_SIGNAL") == "SIGTERM")
        #expect(kill.text("BUSTD_DRY_RUN") == "1")
        #expect(kill.text("BUSTD_MEMORY_TERMINATE_PERCENT") == "100")
        #expect(Int(kill.text("BUSTD_RSS_KIB") ?? "") ?? 0 >= 24 * 1024)
        #expect(kill.text("BUSTD_AVAILABLE_PERCENT") != nil)
        #expect(kill.text("BUSTD_AVAILABLE_KIB") != nil)

        let start = try recorder.waitForRecord { $0.text("MESSAGE_ID") == Self.startID }
        #expect(start.text("BUSTD_DRY_RUN") == "1")
        #expect(start.text("BUSTD_SCOPE") == cgroup.path)
        // Every line went to the socket; none to the stream.
        #expect(!run.log.contains("would kill"), "\(run.log)")
        #expect(hog.isRunning)
    }

    /// A journal socket that is absent: the same lines as text, with
    /// journald's <N> priority prefixes, on stderr.
    @Test func absentSocketFallsBackToTextLines() throws {
        let run = try DaemonRun(
            ["-n", "--dry-run"], environment: ["BUSTD_JOURNAL_SOCKET": Harness.privateDirectory + "/no-journal"],
            journalStream: true)
        let line = try run.waitForLine(containing: "started")
        #expect(line.hasPrefix("<5>bustd "), "\(line)")
        #expect(run.stop() == 0)
    }

    /// $JOURNAL_STREAM naming another file (inherited by a child whose
    /// stderr was redirected): not journald, nothing sent to the socket.
    @Test func mismatchedJournalStreamSendsNothing() throws {
        let recorder = try JournalRecorder()
        let run = try DaemonRun(
            ["-n", "--dry-run"], environment: ["BUSTD_JOURNAL_SOCKET": recorder.path, "JOURNAL_STREAM": "1:1"])
        try run.waitForLine(containing: "started")
        usleep(300_000)
        #expect(run.stop() == 0)
        #expect(recorder.datagrams.isEmpty)
    }

    /// The real journald, where it can run (Debian's systemd package): a
    /// journald of a namespace of its own (its socket and files apart from
    /// any system journal), then `journalctl -o json` reads the kill back.
    @Test(.needsRoot, .enabled(if: JournaldNamespace.isRunnable, "no /lib/systemd/systemd-journald here"))
    func journaldStoresTheKillRecordWithItsFields() throws {
        let journald = try JournaldNamespace()
        let cgroup = try TestCgroup()
        let hog = try Child.hog("bt-jdhog", mb: 24, cgroup: cgroup)
        let run = try DaemonRun(
            ["-n", "--dry-run", "--scope", cgroup.path, "-m", "100", "-s", "100", "--cooldown", "0.2"],
            environment: ["BUSTD_JOURNAL_SOCKET": journald.socket], journalStream: true)
        defer { run.stop() }
        let kill = try journald.waitForEntry(messageID: Self.killID)
        #expect(kill["SYSLOG_IDENTIFIER"] as? String == "bustd")
        #expect(kill["PRIORITY"] as? String == "5")
        #expect(kill["_TRANSPORT"] as? String == "journal")
        #expect(kill["BUSTD_PID"] as? String == "\(hog.pid)")
        #expect(kill["BUSTD_NAME"] as? String == "bt-jdhog")
        #expect(kill["BUSTD_DRY_RUN"] as? String == "1")
        // The length form, decoded by journald: the script's newlines intact.
        let cmdline = kill["BUSTD_CMDLINE"] as? String
        #expect(cmdline?.hasPrefix("\(Harness.python) -c ") == true && cmdline?.contains("\n") == true, "\(kill)")
        #expect(kill["_PID"] as? String == "\(run.process.processIdentifier)")
    }
}

/// A systemd-journald of its own namespace, started and removed by a test.
final class JournaldNamespace {
    static let binary = "/lib/systemd/systemd-journald"
    static var isRunnable: Bool { FileManager.default.isExecutableFile(atPath: binary) && getuid() == 0 }

    let name = "bustdtest\(getpid())"
    let process = Process()
    var socket: String { "/run/systemd/journal.\(name)/socket" }

    init() throws {
        process.executableURL = URL(fileURLWithPath: JournaldNamespace.binary)
        process.arguments = [name]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socket) {
            guard Date() < deadline, process.isRunning else { throw HarnessError("journald \(name) did not start") }
            usleep(20_000)
        }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: "/run/systemd/journal.\(name)")
        for parent in ["/var/log/journal", "/run/log/journal"] {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where entry.hasSuffix("." + name) {
                try? FileManager.default.removeItem(atPath: parent + "/" + entry)
            }
        }
    }

    /// The first entry with this MESSAGE_ID, as `journalctl -o json` gives it.
    func waitForEntry(messageID: String, timeout: TimeInterval = 15) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let query = Process()
            query.executableURL = URL(fileURLWithPath: "/usr/bin/journalctl")
            query.arguments = ["--namespace=\(name)", "-o", "json", "--no-pager", "MESSAGE_ID=\(messageID)"]
            let output = Pipe()
            query.standardOutput = output
            query.standardError = FileHandle.nullDevice
            try query.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            query.waitUntilExit()
            if let line = data.split(separator: 0x0A).first,
                let entry = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            {
                return entry
            }
            usleep(100_000)
        } while Date() < deadline
        throw HarnessError("no journal entry with MESSAGE_ID=\(messageID) within \(timeout) s")
    }
}
