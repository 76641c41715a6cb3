import Foundation
import Shared
import Testing

@testable import bustd_notify

@Suite struct ReplayTests {
    private let now: Int64 = 1_764_180_000_000

    @Test func sameInstanceAsksAfterTheLastSeenAndSkipsDuplicates() {
        var filter = ReplayFilter(lastSeen: LastSeen(instance: Fixtures.instance, sequence: 5), since: nil, maxAgeMs: 600_000)
        let request = filter.subscription(after: Fixtures.hello(retained: 1...7))
        #expect(request == SubscribeRequest(since: 5, instance: Fixtures.instance))
        #expect(filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 5, timeMs: now), nowMs: now) == .duplicate)
        #expect(filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 6, timeMs: now), nowMs: now) == .show(replayed: true))
        #expect(filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 6, timeMs: now), nowMs: now) == .duplicate)
        #expect(filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 8, timeMs: now), nowMs: now) == .show(replayed: false))
        #expect(filter.lastSeen == LastSeen(instance: Fixtures.instance, sequence: 8))
    }

    @Test func newInstanceReplaysEverythingYoungEnough() {
        var filter = ReplayFilter(lastSeen: LastSeen(instance: Fixtures.instance, sequence: 50), since: nil, maxAgeMs: 600_000)
        let request = filter.subscription(after: Fixtures.hello(instance: Fixtures.otherInstance, retained: 1...3))
        #expect(request == SubscribeRequest(since: 0, instance: Fixtures.otherInstance))
        // Lower numbers than last seen, but a new series: accepted.
        #expect(
            filter.judge(
                Fixtures.event(.killed(Fixtures.killed()), sequence: 1, timeMs: now - 700_000, instance: Fixtures.otherInstance), nowMs: now
            ) == .tooOld)
        #expect(
            filter.judge(
                Fixtures.event(.killed(Fixtures.killed()), sequence: 2, timeMs: now - 60_000, instance: Fixtures.otherInstance), nowMs: now)
                == .show(replayed: true))
        // Live events are shown whatever their timestamp says.
        #expect(
            filter.judge(
                Fixtures.event(.killed(Fixtures.killed()), sequence: 4, timeMs: now - 900_000, instance: Fixtures.otherInstance), nowMs: now
            ) == .show(replayed: false))
    }

    @Test func firstStartWithNothingRetained() {
        var filter = ReplayFilter(lastSeen: nil, since: nil, maxAgeMs: 600_000)
        #expect(filter.subscription(after: Fixtures.hello(retained: nil)) == SubscribeRequest(since: 0, instance: Fixtures.instance))
        #expect(filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 1, timeMs: now), nowMs: now) == .show(replayed: false))
    }

    @Test func sinceFlagIsInclusiveIgnoresAgeAndOnlyOnce() {
        var filter = ReplayFilter(lastSeen: nil, since: 3, maxAgeMs: 600_000)
        #expect(filter.subscription(after: Fixtures.hello(retained: 1...9)) == SubscribeRequest(since: 2, instance: Fixtures.instance))
        #expect(
            filter.judge(Fixtures.event(.killed(Fixtures.killed()), sequence: 3, timeMs: now - 9_000_000), nowMs: now)
                == .show(replayed: true))
        // A reconnect later continues from what was seen.
        #expect(filter.subscription(after: Fixtures.hello(retained: 1...9)) == SubscribeRequest(since: 3, instance: Fixtures.instance))
    }

    @Test func lastSeenEncoding() {
        let lastSeen = LastSeen(instance: Fixtures.instance, sequence: 41)
        #expect(lastSeen.encoded() == Fixtures.instance + " 41\n")
        #expect(LastSeen.decode(lastSeen.encoded()) == lastSeen)
        #expect(LastSeen.decode("") == nil)
        #expect(LastSeen.decode("abc") == nil)
        #expect(LastSeen.decode("abc x\n") == nil)
        #expect(LastSeen.decode("a/b 1\n") == nil)
        #expect(LastSeen.decode("abc 1 2\n") == nil)
    }

    @Test func stateFileRoundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bustd-notify-state-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bustd-notify.state"
        #expect(loadLastSeen(from: path) == nil)
        let lastSeen = LastSeen(instance: Fixtures.instance, sequence: UInt64.max)
        #expect(saveLastSeen(lastSeen, to: path) == nil)
        #expect(loadLastSeen(from: path) == lastSeen)
        #expect(saveLastSeen(LastSeen(instance: Fixtures.otherInstance, sequence: 2), to: path) == nil)
        #expect(loadLastSeen(from: path) == LastSeen(instance: Fixtures.otherInstance, sequence: 2))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["bustd-notify.state"])
        #expect(saveLastSeen(lastSeen, to: directory + "/missing/state") != nil)
    }
}
