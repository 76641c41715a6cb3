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
        // /proc/PID/cmdline: NUL-separated, carried exactly (length form).
        #expect(kill["BUSTD_CMDLINE"]?.contains(0) == true)
        #expect(kill.text("BUSTD_CMDLINE")?.contains("bt-jhog") == true)
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
}
