import Testing

@testable import bustd

/// When the kill path is made resident and when it is dropped again.
@Suite struct KillReadinessTests {
    static let readyBelow = 2000  // twice a 10 % SIGTERM threshold, in hundredths

    func needed(
        available: Int = 5000, forecastMs: Int64? = nil, pressureCounting: Bool = false,
        dying: Bool = false, urgency: Urgency = .none
    ) -> Bool {
        KillReadiness.isNeeded(
            belowCeiling: available <= Self.readyBelow, forecastMs: forecastMs,
            pressureCounting: pressureCounting, victimsDying: dying, urgency: urgency)
    }

    @Test func neededNearARuleOnly() {
        #expect(!needed())
        #expect(!needed(available: Self.readyBelow + 1))
        #expect(needed(available: Self.readyBelow))
        #expect(needed(forecastMs: KillReadiness.readyBeforeCrossingMs))
        #expect(!needed(forecastMs: KillReadiness.readyBeforeCrossingMs + 1))
        #expect(needed(pressureCounting: true))
        #expect(needed(dying: true))
        #expect(needed(urgency: .terminate))
    }

    @Test func madeReadyOnceAndDroppedAfterAMinuteOfCalm() {
        var readiness = KillReadiness()
        #expect(readiness.update(needed: false, nowMs: 0) == nil)
        #expect(readiness.update(needed: true, nowMs: 1000) == .makeReady)
        #expect(readiness.update(needed: true, nowMs: 2000) == nil)
        #expect(readiness.isReady)
        // Calm starts at the first look that does not need it.
        #expect(readiness.update(needed: false, nowMs: 3000) == nil)
        #expect(readiness.update(needed: false, nowMs: 3000 + KillReadiness.dropAfterCalmMs - 1) == nil)
        #expect(readiness.update(needed: false, nowMs: 3000 + KillReadiness.dropAfterCalmMs) == .drop)
        #expect(!readiness.isReady)
        #expect(readiness.update(needed: false, nowMs: 200_000) == nil)
    }

    @Test func aLookNearARuleRestartsTheCalm() {
        var readiness = KillReadiness()
        _ = readiness.update(needed: true, nowMs: 0)
        _ = readiness.update(needed: false, nowMs: 1000)
        _ = readiness.update(needed: true, nowMs: 50_000)
        #expect(readiness.update(needed: false, nowMs: 61_000) == nil)
        #expect(readiness.update(needed: false, nowMs: 61_000 + KillReadiness.dropAfterCalmMs) == .drop)
    }

    @Test func otherWorkIsDroppedAfterItWhileNotReady() {
        var readiness = KillReadiness()
        readiness.otherWorkRan(nowMs: 1000)
        readiness.otherWorkRan(nowMs: 5000)  // the first one sets the time
        #expect(readiness.update(needed: false, nowMs: 1000 + KillReadiness.dropOtherWorkAfterMs - 1) == nil)
        #expect(readiness.update(needed: false, nowMs: 1000 + KillReadiness.dropOtherWorkAfterMs) == .drop)
        #expect(readiness.update(needed: false, nowMs: 100_000) == nil)
    }

    @Test func otherWorkWhileReadyWaitsForTheCalm() {
        var readiness = KillReadiness()
        _ = readiness.update(needed: true, nowMs: 0)
        readiness.otherWorkRan(nowMs: 1000)
        #expect(readiness.update(needed: false, nowMs: 1000 + KillReadiness.dropOtherWorkAfterMs) == nil)
        // Made ready meanwhile: the kill path's drop takes the other work's pages.
        var pending = KillReadiness()
        pending.otherWorkRan(nowMs: 0)
        #expect(pending.update(needed: true, nowMs: 100) == .makeReady)
        #expect(pending.update(needed: false, nowMs: 100 + KillReadiness.dropOtherWorkAfterMs) == nil)
    }
}
