import Foundation
import Testing

@testable import bustd

/// systemd's STATUS= line: when it is sent and what it says.
@Suite struct ServiceStatusTests {
    final class Sent {
        var lines: [String] = []
    }

    func status() -> (ServiceStatus, Sent) {
        let sent = Sent()
        let status = ServiceStatus { bytes in
            #expect(bytes.last == 0, "not NUL-terminated")
            sent.lines.append(String(decoding: bytes.dropLast(), as: UTF8.self))
            return 1
        }
        return (status, sent)
    }

    @Test func sendsWhenTheFigureOrStateChangesNotOnEveryLook() {
        let (status, sent) = status()
        status.look(.ok, percent: 6_345, nowMs: 1_000) { 6_345 }
        #expect(sent.lines == ["STATUS=ok: 63% available"])
        // The same whole percent: nothing, however often bustd looks.
        for ms in stride(from: 1_100, through: 30_000, by: 100) {
            status.look(.ok, percent: 6_300 + Int(ms % 100), nowMs: Int64(ms)) { 6_300 }
        }
        #expect(sent.lines.count == 1)
        status.look(.low, percent: 1_234, nowMs: 31_000) { 1_234 }
        #expect(sent.lines.last == "STATUS=low: 12% available")
    }

    /// Never more than once a second; a figure alone every 5 s at most. A
    /// change held back is sent at a later look.
    @Test func rateLimited() {
        let (status, sent) = status()
        status.look(.ok, percent: 5_000, nowMs: 1_000) { 5_000 }
        #expect(sent.lines == ["STATUS=ok: 50% available"], "the first look at once")
        status.look(.low, percent: 1_400, nowMs: 1_500) { 1_400 }
        #expect(sent.lines.count == 1, "a state change within a second")
        status.look(.low, percent: 1_400, nowMs: 2_000) { 1_400 }
        #expect(sent.lines.count == 2)
        status.look(.low, percent: 1_300, nowMs: 3_000) { 1_300 }
        status.look(.low, percent: 1_200, nowMs: 6_999) { 1_200 }
        #expect(sent.lines.count == 2, "a figure alone within 5 s")
        status.look(.low, percent: 1_200, nowMs: 7_000) { 1_200 }
        #expect(sent.lines.last == "STATUS=low: 12% available")
        // Many changes, every 10 ms for a minute: at most one a second.
        var times: [Int64] = []
        for ms in stride(from: Int64(7_010), to: 67_000, by: 10) {
            let before = sent.lines.count
            status.look(ms % 20 == 0 ? .critical : .low, percent: Int(ms % 3_000), nowMs: ms) { 100 }
            if sent.lines.count > before { times.append(ms) }
        }
        #expect(times.count >= 50)
        for (earlier, later) in zip(times, times.dropFirst()) { #expect(later - earlier >= 1_000) }
    }

    @Test func namesTheLastKillAndItsAge() {
        let (status, sent) = status()
        status.look(.critical, percent: 400, nowMs: 10_000) { 400 }
        status.noteKill(name: Array("fire\nfox".utf8), pid: 123, dryRun: false, nowMs: 10_100)
        status.look(.critical, percent: 400, nowMs: 11_100) { 400 }
        #expect(sent.lines.last == "STATUS=critical: 4% available, killed fire?fox (pid 123) less than a minute ago")
        status.look(.ok, percent: 6_300, nowMs: 20_000) { 6_300 }
        status.look(.ok, percent: 6_300, nowMs: 10_100 + 2 * 60_000) { 6_300 }
        #expect(sent.lines.last == "STATUS=ok: 63% available, killed fire?fox (pid 123) 2 min ago")
        status.look(.ok, percent: 6_300, nowMs: 10_100 + 3 * 3_600_000) { 6_300 }
        #expect(sent.lines.last == "STATUS=ok: 63% available, killed fire?fox (pid 123) 3 h ago")
        status.look(.ok, percent: 6_300, nowMs: 10_100 + 25 * 3_600_000) { 6_300 }
        #expect(sent.lines.last == "STATUS=ok: 63% available")
        status.noteKill(name: Array("x".utf8), pid: 9, dryRun: true, nowMs: 100_000_000)
        status.look(.ok, percent: 6_300, nowMs: 100_001_000) { 6_300 }
        #expect(sent.lines.last == "STATUS=ok: 63% available, dry run: would have killed x (pid 9) less than a minute ago")
    }

    /// READY=1 carries the first line, and counts as a send.
    @Test func readyCarriesTheFirstLine() {
        let (status, sent) = status()
        #expect(status.ready(.ok, percent: 6_399, nowMs: 1_000) == 1)
        #expect(sent.lines == ["READY=1\nSTATUS=ok: 63% available"])
        status.look(.ok, percent: 6_300, nowMs: 1_100) { 6_300 }
        #expect(sent.lines.count == 1, "the same line again")
        status.look(.low, percent: 1_400, nowMs: 1_500) { 1_400 }
        #expect(sent.lines.count == 1, "within a second of READY")
        status.look(.low, percent: 1_400, nowMs: 2_000) { 1_400 }
        #expect(sent.lines.last == "STATUS=low: 14% available")
    }

    /// The idle look's trigger is sysinfo's free RAM; the line shows
    /// MemAvailable, read only when it is sent.
    @Test func theFigureShownIsAskedOnlyWhenSending() {
        let (status, sent) = status()
        var asked = 0
        status.look(.ok, percent: 2_000, nowMs: 5_000) {
            asked += 1
            return 6_100
        }
        status.look(.ok, percent: 2_050, nowMs: 6_000) {
            asked += 1
            return 6_100
        }
        #expect(asked == 1)
        #expect(sent.lines == ["STATUS=ok: 61% available"])
        // Free RAM moved by a whole percent, MemAvailable did not: the
        // figure is read, the same line not sent again.
        status.look(.ok, percent: 2_150, nowMs: 12_000) {
            asked += 1
            return 6_150
        }
        #expect(asked == 2)
        #expect(sent.lines.count == 1)
    }
}
