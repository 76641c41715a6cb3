import Foundation
import Shared
import Testing

@testable import bustd

/// journald's native protocol: field encoding, MESSAGE_IDs, $JOURNAL_STREAM.
@Suite struct JournalTests {
    @Test func plainTextGoesAsNameEqualsValue() {
        var fields = JournalFields()
        fields.add("MESSAGE", "killing pid 42")
        fields.add("BUSTD_PID", Int32(42))
        #expect(fields.bytes == Array("MESSAGE=killing pid 42\nBUSTD_PID=42\n".utf8))
    }

    @Test func newlineAndBinaryValuesGoInTheLengthForm() {
        let value: [UInt8] = [0x61, 0x0A, 0x62, 0x00, 0xFF, 0x3D]
        var fields = JournalFields()
        fields.add("BUSTD_CMDLINE", value)
        let expected: [UInt8] = Array("BUSTD_CMDLINE\n".utf8) + [6, 0, 0, 0, 0, 0, 0, 0] + value + [0x0A]
        #expect(fields.bytes == expected)
        #expect(decodeJournalRecord(fields.bytes)?["BUSTD_CMDLINE"] == value)
    }

    /// The length is 64-bit little-endian: 300 is 0x2C 0x01 0 0 0 0 0 0.
    @Test func lengthIsLittleEndian() {
        let value = [UInt8](repeating: 0x0A, count: 300)
        var fields = JournalFields()
        fields.add("X", value)
        #expect(Array(fields.bytes[2..<10]) == [0x2C, 0x01, 0, 0, 0, 0, 0, 0])
        #expect(decodeJournalRecord(fields.bytes)?["X"] == value)
    }

    @Test func lengthFormIsChosenForAnyControlOrNonASCIIByte() {
        #expect(!JournalFields.needsLengthForm(Array("firefox --new-tab x=1".utf8)))
        for byte: UInt8 in [0x00, 0x09, 0x0A, 0x1F, 0x7F, 0x80, 0xC3, 0xFF] {
            #expect(JournalFields.needsLengthForm([0x61, byte]), "byte \(byte)")
        }
    }

    @Test func fieldNamesFollowJournaldsRules() {
        for good in ["MESSAGE", "BUSTD_PID", "A1_2", "X"] {
            #expect(JournalFields.isValidName(Array(good.utf8)), "\(good)")
        }
        for bad in ["", "_PID", "1ABC", "bustd_pid", "BUSTD-PID", "BUSTD PID", "BUSTD=PID", String(repeating: "A", count: 65)] {
            #expect(!JournalFields.isValidName(Array(bad.utf8)), "\(bad)")
        }
    }

    /// Every field a record can carry has a valid name: built from a kill
    /// with every optional part, a warning, a kernel OOM kill and a header.
    @Test func everyFieldNameBustdWritesIsValid() throws {
        var fields = JournalFields()
        fields.addHeader(priority: 5, kind: .kill, message: "m")
        for payload in JournalTests.samplePayloads { payload.addFields(to: &fields) }
        let record = try #require(decodeJournalRecord(fields.bytes))
        #expect(record.count > 30)
        for name in record.keys { #expect(JournalFields.isValidName(Array(name.utf8)), "\(name)") }
    }

    @Test func eachKindHasItsOwnFixedMessageID() {
        let ids = RecordKind.allCases.map { "\($0.messageID)" }
        #expect(Set(ids).count == RecordKind.allCases.count)
        for id in ids {
            #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit && !$0.isUppercase }, "\(id)")
        }
        #expect("\(RecordKind.kill.messageID)" == "c7c2fccf30dd4c26bb588151ce40185b")
        #expect(Event.Payload.kill(JournalTests.kill).recordKind == .kill)
        #expect(Event.Payload.warning(JournalTests.warning).recordKind == .warning)
    }

    /// The README lists every id with its kind, as readers will copy it.
    @Test func readmeListsEveryMessageID() throws {
        let readme = try String(contentsOf: ManPageTests.repository.appendingPathComponent("README.md"), encoding: .utf8)
        for kind in RecordKind.allCases {
            let line = readme.split(separator: "\n").first { $0.hasPrefix("| `\(kind.messageID)`") }
            #expect(line?.contains("`\(kind.name)`") == true, "\(kind.name) \(kind.messageID)")
        }
    }

    @Test func headerCarriesPriorityIdentifierAndMessageID() throws {
        var fields = JournalFields()
        fields.addHeader(priority: 3, kind: .killFailed, message: "could not kill pid 7")
        let record = try #require(decodeJournalRecord(fields.bytes))
        #expect(record.text("MESSAGE") == "could not kill pid 7")
        #expect(record.text("PRIORITY") == "3")
        #expect(record.text("SYSLOG_IDENTIFIER") == "bustd")
        #expect(record.text("MESSAGE_ID") == "2aff32c86cfc40fab88d7bb2979d17e1")
        #expect(record.text("BUSTD_KIND") == "kill-failed")
        var plain = JournalFields()
        plain.addHeader(priority: 6, kind: nil, message: "x")
        #expect(decodeJournalRecord(plain.bytes)?["MESSAGE_ID"] == nil)
    }

    @Test func killRecordCarriesTheVictimAndFigures() throws {
        var fields = JournalFields()
        Event.Payload.kill(JournalTests.kill).addFields(to: &fields)
        let record = try #require(decodeJournalRecord(fields.bytes))
        #expect(record.text("BUSTD_PID") == "4242")
        #expect(record.text("BUSTD_UID") == "1000")
        #expect(record.text("BUSTD_USER") == "alice")
        #expect(record["BUSTD_NAME"] == Array("fire\nfox".utf8))
        #expect(record.text("BUSTD_EXE") == "/usr/bin/firefox")
        #expect(record["BUSTD_CMDLINE"] == [0x66, 0x00, 0x2D, 0x70])
        #expect(record.text("BUSTD_UNIT") == "app-firefox.scope")
        #expect(record.text("BUSTD_RULE") == "low-memory")
        #expect(record.text("BUSTD_SIGNAL") == "SIGTERM")
        #expect(record.text("BUSTD_DRY_RUN") == "1")
        #expect(record.text("BUSTD_RSS_KIB") == "512000")
        #expect(record.text("BUSTD_AVAILABLE_PERCENT") == "4.2")
        #expect(record.text("BUSTD_MEMORY_TERMINATE_PERCENT") == "10")
        #expect(record.text("BUSTD_MEMORY_TERMINATE_KIB") == "1638400")
        #expect(record.text("BUSTD_PRESSURE_PERCENT") == "12.5")
    }

    @Test func killedRecordCarriesRecoveredMemoryAndSignals() throws {
        var fields = JournalFields()
        Event.Payload.killed(
            Event.Killed(
                pid: 7, uid: 0, processName: Array("hog".utf8), timeToExitMs: 120, recoveredKiB: 65536,
                signals: "SIGTERM, then SIGKILL")
        ).addFields(to: &fields)
        let record = try #require(decodeJournalRecord(fields.bytes))
        #expect(record.text("BUSTD_RECOVERED_KIB") == "65536")
        #expect(record.text("BUSTD_SIGNALS") == "SIGTERM, then SIGKILL")
        #expect(record.text("BUSTD_TIME_TO_EXIT_MS") == "120")
    }

    @Test func aValueLimitCutsValuesAndSaysSo() throws {
        var fields = JournalFields(valueLimit: 4)
        fields.add("BUSTD_PID", "42")
        #expect(!fields.truncated)
        fields.add("BUSTD_CMDLINE", "abcdefgh")
        #expect(fields.truncated)
        #expect(decodeJournalRecord(fields.bytes)?.text("BUSTD_CMDLINE") == "abcd")
    }

    @Test func journalStreamMatchesOnlyItsDeviceAndInode() {
        #expect(JournalStream.matches(Array("8:12345".utf8), device: 8, inode: 12345))
        #expect(!JournalStream.matches(Array("8:12346".utf8), device: 8, inode: 12345))
        #expect(!JournalStream.matches(Array("9:12345".utf8), device: 8, inode: 12345))
        for garbage in [
            "", ":", "8:", ":12345", "8:12345:1", "8:12345 ", " 8:12345", "+8:12345", "-8:12345", "8;12345",
            "x:y", "99999999999999999999999:12345", "8:0x3039",
        ] {
            #expect(!JournalStream.matches(Array(garbage.utf8), device: 8, inode: 12345), "\(garbage)")
        }
        #expect(JournalStream.matches(Array("18446744073709551615:1".utf8), device: UInt64.max, inode: 1))
    }

    /// A record too big for a datagram (EMSGSIZE) goes again with its
    /// values cut, marked BUSTD_TRUNCATED=1; a missing socket refuses.
    @Test func oversizedRecordIsSentCutAndAMissingSocketRefuses() throws {
        let recorder = try JournalRecorder()
        let socket = try #require(JournalSocket(path: recorder.path))
        let huge = [UInt8](repeating: 0x61, count: 4 << 20)
        let sent = socket.send { limit in
            var fields = JournalFields(valueLimit: limit)
            fields.addHeader(priority: 5, kind: .kill, message: "big")
            fields.add("BUSTD_CMDLINE", huge)
            return fields
        }
        #expect(sent)
        let record = try recorder.waitForRecord { $0["MESSAGE"] != nil }
        #expect(record["BUSTD_CMDLINE"]?.count == JournalSocket.truncatedValueBytes)
        #expect(record.text("BUSTD_TRUNCATED") == "1")

        let missing = try #require(JournalSocket(path: recorder.path + "-absent"))
        #expect(!missing.send { _ in JournalFields() })
    }

    static let thresholds = Event.Thresholds(
        memoryTerminatePercent: 1000, memoryKillPercent: 500, swapTerminatePercent: 1000, swapKillPercent: 500,
        pressureCutoffPercent: 6000, memoryTerminateKiB: 1_638_400, memoryKillKiB: 819_200,
        swapTerminateKiB: 0, swapKillKiB: 0)
    static let figures = Event.Figures(
        availablePercent: 420, swapFreePercent: 0, pressurePercent: 1250, availableKiB: 688_128, swapFreeKiB: 0)
    static let kill = Event.Kill(
        pid: 4242, uid: 1000, userName: "alice", processName: Array("fire\nfox".utf8), commandLine: [0x66, 0x00, 0x2D, 0x70],
        commandLineTruncated: true, executablePath: Array("/usr/bin/firefox".utf8), rssKiB: 512_000, swapKiB: 0,
        oomScore: 700, oomScoreAdj: 200, signal: "SIGTERM", rule: .lowMemory, figures: figures, thresholds: thresholds,
        dryRun: true, cgroup: Array("/user.slice/app-firefox.scope".utf8), unit: Array("app-firefox.scope".utf8))
    static let warning = Event.Warning(
        figures: figures, thresholds: thresholds, victim: Event.Victim(pid: 1, uid: 2, processName: Array("x".utf8)))
    static let samplePayloads: [Event.Payload] = [
        .kill(kill), .warning(warning),
        .killed(Event.Killed(pid: 1, uid: 2, processName: [], timeToExitMs: 1, recoveredKiB: 1, signals: "SIGKILL")),
        .killFailed(Event.KillFailed(pid: 1, uid: 2, processName: [], reason: "r")),
        .kernelOOM(Event.KernelOOM(count: 1, source: .vmstat, pid: 3, processName: Array("y".utf8), uid: 4)),
    ]
}
