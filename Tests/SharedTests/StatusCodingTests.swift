import Foundation
import Testing

@testable import Shared

/// The status request and its answers on the wire, and the privacy rule
/// that decides what of the answer a peer gets.
@Suite struct StatusCodingTests {
    static let hostileName = Array("evil\n{\"type\":\"status\"}\u{1B}[2J\"".utf8)

    static func status(candidateUID: UInt32? = 1000, killUID: UInt32? = 1000) -> DaemonStatus {
        DaemonStatus(
            instance: "0123456789abcdef0123456789abcdef", timeMs: 1_764_180_000_123, daemonVersion: "0.2.0",
            uptimeMs: 3_600_000, scope: .all, peerUID: 0, dryRun: false,
            figures: Event.Figures(
                availablePercent: 6320, swapFreePercent: 10_000, pressurePercent: 12, availableKiB: 10_485_760,
                swapFreeKiB: 2_097_152),
            totalKiB: 16_777_216, swapTotalKiB: 2_097_152,
            thresholds: Event.Thresholds(
                memoryTerminatePercent: 1000, memoryKillPercent: 500, swapTerminatePercent: 1000, swapKillPercent: 500,
                pressureCutoffPercent: 2500, memoryTerminateKiB: 1_677_721, memoryKillKiB: 838_860,
                swapTerminateKiB: 209_715, swapKillKiB: 104_857),
            pressureMetric: "some", pollIntervalMs: 1000, forecastMs: 1500,
            candidate: candidateUID.map { .init(pid: 4242, uid: $0, processName: hostileName, rssKiB: 1_258_291) },
            kills: 2, warnings: 5, kernelOOMKills: 1, lastKillTimeMs: 1_764_179_000_000,
            lastKill: killUID.map { .init(pid: 4141, uid: $0, processName: Array("chrome".utf8), signal: "SIGTERM") })
    }

    func decoded(_ line: String) throws -> StatusReply { try decodeStatusReply(line: Array(line.utf8)) }

    @Test func statusRoundTripsWithEveryFieldSetAndUnset() throws {
        let full = Self.status()
        let line = full.encodeLine()
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "one line, whatever the name holds")
        #expect(try decoded(line) == .status(full))
        var empty = Self.status(candidateUID: nil, killUID: nil)
        empty.forecastMs = nil
        empty.lastKillTimeMs = nil
        empty.figures.pressurePercent = nil
        #expect(try decoded(empty.encodeLine()) == .status(empty))
        // Plain JSON, for jq and --json: the keys a script reads.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["type"] as? String == "status" && object["v"] as? Int == 1)
        #expect(object["available_percent"] as? Double == 63.2 && object["available_kib"] as? Int == 10_485_760)
        #expect(object["memory_terminate_kib"] as? Int == 1_677_721 && object["pressure_cutoff_percent"] as? Int == 25)
        #expect(object["candidate_pid"] as? Int == 4242 && object["kernel_oom_kills"] as? Int == 1)
        #expect(object["poll_interval_ms"] as? Int == 1000 && object["forecast_ms"] as? Int == 1500)
    }

    @Test func requestsDecodeToWhatTheyAsk() throws {
        #expect(encodeStatusRequestLine() == "{\"v\":1,\"type\":\"status\"}\n")
        #expect(try decodeClientRequest(line: Array(encodeStatusRequestLine().utf8)) == .status)
        let subscribe = SubscribeRequest(since: 41, instance: "abc")
        #expect(try decodeClientRequest(line: Array(subscribe.encodeLine().utf8)) == .subscribe(subscribe))
        #expect(throws: EventDecodingError.self) { try decodeClientRequest(line: Array("{\"v\":1,\"type\":\"kill\"}".utf8)) }
        #expect(throws: EventDecodingError.self) { try decodeClientRequest(line: Array("{\"v\":2,\"type\":\"status\"}".utf8)) }
        #expect(throws: EventDecodingError.self) { try decodeClientRequest(line: Array("status\n".utf8)) }
    }

    @Test func refusalsAndOtherLinesAreToldApart() throws {
        let refusal = StatusRefusal(reason: StatusRefusal.rateLimited, retryAfterMs: 250)
        #expect(
            refusal.encodeLine()
                == "{\"v\":1,\"type\":\"error\",\"request\":\"status\",\"reason\":\"rate-limited\",\"retry_after_ms\":250}\n")
        #expect(try decoded(refusal.encodeLine()) == .refused(refusal))
        let hello = Event(
            sequence: 0, instance: "x", timeMs: 1,
            payload: .hello(Event.Hello(daemonVersion: "0.2.0", scope: .all, peerUID: 0, retained: nil)))
        #expect(try decoded(hello.encodeLine()) == .other)
        #expect(try decoded("{\"v\":1,\"type\":\"error\",\"request\":\"other\",\"reason\":\"x\"}") == .other)
    }

    @Test func halfACandidateIsRefused() throws {
        let line = Self.status().encodeLine().replacingOccurrences(of: "\"candidate_uid\":1000", with: "\"candidate_uid\":null")
        #expect(throws: EventDecodingError.self) { try decodeStatusReply(line: Array(line.utf8)) }
        let kill = Self.status().encodeLine().replacingOccurrences(
            of: "\"last_kill_signal\":\"SIGTERM\"", with: "\"last_kill_signal\":null")
        #expect(throws: EventDecodingError.self) { try decodeStatusReply(line: Array(kill.utf8)) }
    }

    @Test func aUserSeesOnlyItsOwnProcessesAndRootOrTheGroupAll() {
        let status = Self.status(candidateUID: 1000, killUID: 1002)
        let ownKill = DaemonStatus.LastKill(pid: 77, uid: 1000, processName: Array("mine".utf8), signal: "SIGKILL")
        let own = status.visible(to: 1000, seesAll: false, own: .init(count: 1, lastTimeMs: 5, last: ownKill))
        #expect(own.scope == .ownUID && own.peerUID == 1000)
        #expect(own.candidate == status.candidate, "its own process")
        #expect(own.kills == 1 && own.lastKillTimeMs == 5 && own.lastKill == ownKill, "its own kills, not the totals")
        let other = status.visible(to: 1001, seesAll: false, own: .init())
        #expect(other.candidate == nil && other.lastKill == nil && other.lastKillTimeMs == nil && other.kills == 0)
        #expect(other.figures == status.figures && other.thresholds == status.thresholds)
        #expect(other.warnings == 5 && other.kernelOOMKills == 1, "public events, public counts")
        #expect(!other.encodeLine().contains("evil") && !other.encodeLine().contains("chrome"))
        // A record handed over by mistake for another uid still names no one else's process.
        let mixedUp = status.visible(to: 1001, seesAll: false, own: .init(count: 1, lastTimeMs: 5, last: ownKill))
        #expect(mixedUp.lastKill == nil)
        let group = status.visible(to: 1001, seesAll: true, own: .init())
        #expect(group.scope == .all && group.candidate == status.candidate && group.lastKill == status.lastKill)
        #expect(group.kills == 2 && group.lastKillTimeMs == status.lastKillTimeMs)
    }
}
