import Testing

@testable import bustd

@Suite struct RulesTests {
    /// 10,000 KiB of RAM and swap: 1 % is 100 KiB.
    func memory(available: Int64, swapFree: Int64, swapTotal: Int64 = 10_000) -> MemoryStatus {
        MemoryStatus(totalKiB: 10_000, availableKiB: available, swapTotalKiB: swapTotal, swapFreeKiB: swapFree)
    }

    let config = RuleConfig(try! options())  // 10,5 / 10,5 / psi 25 for 5 s, gate 20 %

    @Test func healthyMachineIsLeftAlone() {
        #expect(decide(memory: memory(available: 5000, swapFree: 10_000), pressure: 0, pressureHeldMs: 0, config: config).urgency == .none)
    }

    @Test func lowMemoryNeedsBothRamAndSwapLow() {
        #expect(decide(memory: memory(available: 900, swapFree: 5000), pressure: nil, pressureHeldMs: 0, config: config).urgency == .none)
        #expect(decide(memory: memory(available: 5000, swapFree: 500), pressure: nil, pressureHeldMs: 0, config: config).urgency == .none)
        let decision = decide(memory: memory(available: 1000, swapFree: 1000), pressure: nil, pressureHeldMs: 0, config: config)
        #expect(decision.urgency == .terminate)
        #expect(decision.rule == .lowMemory)
        #expect(
            decision.explanation
                == "available memory 10% (1000 KiB) <= 10% (1000 KiB) and free swap 10% (1000 KiB) <= 10% (1000 KiB)")
    }

    @Test func thresholdsAreInclusiveAndKillIsTheSecondNumber() {
        #expect(decide(memory: memory(available: 1001, swapFree: 0), pressure: nil, pressureHeldMs: 0, config: config).urgency == .none)
        #expect(decide(memory: memory(available: 501, swapFree: 0), pressure: nil, pressureHeldMs: 0, config: config).urgency == .terminate)
        #expect(decide(memory: memory(available: 500, swapFree: 0), pressure: nil, pressureHeldMs: 0, config: config).urgency == .kill)
        // RAM at the kill level but swap only at the term level: SIGTERM.
        #expect(
            decide(memory: memory(available: 100, swapFree: 800), pressure: nil, pressureHeldMs: 0, config: config).urgency == .terminate)
    }

    @Test func noSwapCountsAsEmptySwap() {
        let decision = decide(memory: memory(available: 400, swapFree: 0, swapTotal: 0), pressure: nil, pressureHeldMs: 0, config: config)
        #expect(decision.urgency == .kill)
    }

    @Test func pressureRuleNeedsCutoffDurationAndTheMemoryGate() {
        let scarce = memory(available: 1900, swapFree: 10_000)
        #expect(decide(memory: scarce, pressure: 3000, pressureHeldMs: 5000, config: config).rule == .pressure)
        #expect(decide(memory: scarce, pressure: 3000, pressureHeldMs: 5000, config: config).urgency == .terminate)
        // Held too briefly, below the cutoff, or memory above the gate: nothing.
        #expect(decide(memory: scarce, pressure: 3000, pressureHeldMs: 4999, config: config).urgency == .none)
        #expect(decide(memory: scarce, pressure: 2499, pressureHeldMs: 9000, config: config).urgency == .none)
        #expect(
            decide(memory: memory(available: 2001, swapFree: 10_000), pressure: 9000, pressureHeldMs: 60_000, config: config).urgency
                == .none)
    }

    @Test func lowMemoryRuleWinsOverPressure() {
        let decision = decide(memory: memory(available: 300, swapFree: 0), pressure: 9000, pressureHeldMs: 60_000, config: config)
        #expect(decision.rule == .lowMemory)
        #expect(decision.urgency == .kill)
    }

    @Test func pressureTrackerTimesHowLongPressureLasted() {
        var tracker = PressureTracker()
        tracker.update(pressure: 3000, cutoff: 2500, nowMs: 1000)
        tracker.update(pressure: 2600, cutoff: 2500, nowMs: 4000)
        #expect(tracker.heldMs(nowMs: 4000) == 3000)
        tracker.update(pressure: 100, cutoff: 2500, nowMs: 5000)
        #expect(tracker.heldMs(nowMs: 5000) == 0)
        tracker.update(pressure: nil, cutoff: 2500, nowMs: 6000)
        #expect(tracker.aboveSinceMs == nil)
    }

    @Test func afterAKillLingeringAveragesDoNotCount() {
        var tracker = PressureTracker()
        tracker.update(pressure: 3000, stallTotalMicroseconds: 0, cutoff: 2500, nowMs: 0)
        tracker.update(pressure: 3000, stallTotalMicroseconds: 400_000, cutoff: 2500, nowMs: 1000)
        #expect(tracker.heldMs(nowMs: 1000) == 1000)
        tracker.noteKill(nowMs: 1000)
        // The quiet time: even real stalls (survivors faulting back in) do not count.
        tracker.update(pressure: 3000, stallTotalMicroseconds: 900_000, cutoff: 2500, nowMs: 2000)
        #expect(tracker.aboveSinceMs == nil)
        // After it, avg10 still at 29 %, but nothing stalled since the last look: not pressure.
        tracker.update(pressure: 2900, stallTotalMicroseconds: 910_000, cutoff: 2500, nowMs: 11_000)
        tracker.update(pressure: 2900, stallTotalMicroseconds: 910_000, cutoff: 2500, nowMs: 12_000)
        #expect(tracker.aboveSinceMs == nil)
        // Stalls return (50 % of the last second): pressure again, timed from here.
        tracker.update(pressure: 2900, stallTotalMicroseconds: 1_410_000, cutoff: 2500, nowMs: 13_000)
        #expect(tracker.aboveSinceMs == 13_000)
        // A second without stalls ends it again.
        tracker.update(pressure: 2800, stallTotalMicroseconds: 1_410_000, cutoff: 2500, nowMs: 14_000)
        #expect(tracker.aboveSinceMs == nil)
    }

    @Test func averagesCountAgainOnceTheyFellBelowTheCutoff() {
        var tracker = PressureTracker()
        tracker.update(pressure: 3000, stallTotalMicroseconds: 0, cutoff: 2500, nowMs: 0)
        tracker.noteKill(nowMs: 0)
        tracker.update(pressure: 2000, stallTotalMicroseconds: 0, cutoff: 2500, nowMs: 11_000)
        // Back to normal: avg10 alone decides, even between stall-free looks.
        tracker.update(pressure: 2600, stallTotalMicroseconds: 0, cutoff: 2500, nowMs: 12_000)
        #expect(tracker.aboveSinceMs == 12_000)
        // Without PSI totals after a kill, nothing counts until avg10 drops.
        tracker.noteKill(nowMs: 12_000)
        tracker.update(pressure: 9000, cutoff: 2500, nowMs: 23_000)
        #expect(tracker.aboveSinceMs == nil)
    }

    @Test func quickLookCeilingCoversBothRules() {
        #expect(config.quickLookCeiling == Limit(percent: 2000))
        let lowGate = RuleConfig(try! options("-m", "60"))
        #expect(lowGate.quickLookCeiling == Limit(percent: 10_000))
    }
}

@Suite struct PollIntervalTests {
    @Test func longerWithMoreHeadroom() {
        let near = PollInterval.milliseconds(ramHeadroomKiB: 600_000, swapHeadroomKiB: 0, underPressure: false)
        let far = PollInterval.milliseconds(ramHeadroomKiB: 12_000_000, swapHeadroomKiB: 0, underPressure: false)
        #expect(near == 100)
        #expect(far == 2000)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 6_000_000, swapHeadroomKiB: 800_000, underPressure: false) == 2000)
    }

    @Test func clampedAtBothEnds() {
        #expect(PollInterval.milliseconds(ramHeadroomKiB: -5000, swapHeadroomKiB: -1, underPressure: false) == 100)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 1 << 40, swapHeadroomKiB: 0, underPressure: false) == 5000)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 1 << 40, swapHeadroomKiB: 0, underPressure: true) == 500)
    }

    @Test func forecastShortensTheSleepHalfwayThenJustPastTheCrossing() {
        // 100 ms floor without a forecast; 140 ms forecast: look at 70 ms.
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 50_000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 140) == 70)
        // Then 16 ms: close enough to wake just after it.
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 50_000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 16) == 17)
        // Never below the forecast floor, even when the crossing is due now.
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 1000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 0) == 10)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 1000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 24) == 12)
        // A forecast two intervals away or more changes nothing.
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 50_000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 200) == 100)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 12_000_000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 9000) == 2000)
        #expect(PollInterval.milliseconds(ramHeadroomKiB: 12_000_000, swapHeadroomKiB: 0, underPressure: false, forecastMs: 3000) == 1500)
    }

    @Test func headroomIsAboveTheThreshold() {
        #expect(PollInterval.headroomKiB(freeKiB: 3000, totalKiB: 10_000, threshold: Limit(percent: 1000)) == 2000)
        #expect(PollInterval.headroomKiB(freeKiB: 500, totalKiB: 10_000, threshold: Limit(percent: 1000)) == -500)
        // A size below the percentage's KiB is the threshold, and alone it is too.
        #expect(PollInterval.headroomKiB(freeKiB: 3000, totalKiB: 10_000, threshold: Limit(percent: 1000, sizeKiB: 400)) == 2600)
        #expect(PollInterval.headroomKiB(freeKiB: 3000, totalKiB: 10_000, threshold: Limit(sizeKiB: 5000)) == -2000)
    }
}

@Suite struct CrossingForecastTests {
    @Test func firstLookHasNoForecast() {
        var forecast = CrossingForecast()
        #expect(forecast.millisecondsUntilCrossing(nowMs: 1000, ramHeadroomKiB: 50_000, swapHeadroomKiB: 0) == nil)
    }

    @Test func extrapolatesTheFallOfRAM() {
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 1000, ramHeadroomKiB: 90_000, swapHeadroomKiB: 0)
        // 30,000 KiB in 100 ms; 60,000 KiB left: 200 ms. No swap counts as crossed.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 1100, ramHeadroomKiB: 60_000, swapHeadroomKiB: 0) == 200)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 1150, ramHeadroomKiB: 45_000, swapHeadroomKiB: 0) == 150)
    }

    @Test func theLaterOfRAMAndSwapCounts() {
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 0, ramHeadroomKiB: 20_000, swapHeadroomKiB: 100_000)
        // RAM: 10,000 left at 10,000 per 100 ms = 100 ms; swap: 90,000 at 10,000 = 900 ms.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 100, ramHeadroomKiB: 10_000, swapHeadroomKiB: 90_000) == 900)
        // RAM already below its threshold: swap alone decides.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 200, ramHeadroomKiB: -5000, swapHeadroomKiB: 40_000) == 80)
    }

    @Test func noForecastWhenNotFallingOrAlreadyCrossed() {
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 0, ramHeadroomKiB: 50_000, swapHeadroomKiB: 0)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 100, ramHeadroomKiB: 50_000, swapHeadroomKiB: 0) == nil)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 200, ramHeadroomKiB: 70_000, swapHeadroomKiB: 0) == nil)
        // Swap holding still while RAM falls: the rule cannot fire yet.
        _ = forecast.millisecondsUntilCrossing(nowMs: 300, ramHeadroomKiB: 60_000, swapHeadroomKiB: 30_000)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 400, ramHeadroomKiB: 40_000, swapHeadroomKiB: 30_000) == nil)
        // Both below: the rules act, the timer has nothing to forecast.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 500, ramHeadroomKiB: -1, swapHeadroomKiB: -1) == nil)
        // The same instant twice (a clock that did not move) gives no rate.
        var fresh = CrossingForecast()
        _ = fresh.millisecondsUntilCrossing(nowMs: 500, ramHeadroomKiB: 20, swapHeadroomKiB: 0)
        #expect(fresh.millisecondsUntilCrossing(nowMs: 500, ramHeadroomKiB: 10, swapHeadroomKiB: 0) == nil)
    }

    @Test func batchedCountersDoNotHideTheRate() {
        // From an e2e guest: 20,908 KiB fell in 102 ms, then only one batch
        // of 756 KiB reached /proc/meminfo in the next 38 ms.
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 6099, ramHeadroomKiB: 32_954, swapHeadroomKiB: 0)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6201, ramHeadroomKiB: 12_046, swapHeadroomKiB: 0) == 58)
        // Still 205 KiB/ms: 55 ms, not the 567 of the last 38 ms alone.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6239, ramHeadroomKiB: 11_290, swapHeadroomKiB: 0) == 55)
        // A window under 100 ms does not count when longer ones exist:
        // 1,000 KiB in 10 ms would say 10 ms.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6249, ramHeadroomKiB: 10_290, swapHeadroomKiB: 0) == 50)
    }

    @Test func figuresThatStandStillKeepTheRateForASecond() {
        // From an e2e guest: 626 KiB of headroom at two looks 10 ms apart
        // while the hog went on filling memory.
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 6225, ramHeadroomKiB: 12_914, swapHeadroomKiB: 0)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6327, ramHeadroomKiB: 626, swapHeadroomKiB: 0) == 5)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6337, ramHeadroomKiB: 626, swapHeadroomKiB: 0) == 5)
        // A hog paused in reclaim resumes at its old speed: still 5 ms.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 6500, ramHeadroomKiB: 626, swapHeadroomKiB: 0) == 5)
        // After a second of standing still, the fall is forgotten.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 7400, ramHeadroomKiB: 626, swapHeadroomKiB: 0) == nil)
        // Rising memory is no forecast.
        #expect(forecast.millisecondsUntilCrossing(nowMs: 7500, ramHeadroomKiB: 20_000, swapHeadroomKiB: 0) == nil)
        #expect(forecast.millisecondsUntilCrossing(nowMs: 7600, ramHeadroomKiB: 10_000, swapHeadroomKiB: 0) == 100)
    }

    @Test func resetForgetsThePreviousLook() {
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 0, ramHeadroomKiB: 90_000, swapHeadroomKiB: 0)
        forecast.reset()
        #expect(forecast.millisecondsUntilCrossing(nowMs: 100, ramHeadroomKiB: 60_000, swapHeadroomKiB: 0) == nil)
    }

    @Test func hugeFiguresDoNotOverflow() {
        var forecast = CrossingForecast()
        _ = forecast.millisecondsUntilCrossing(nowMs: 0, ramHeadroomKiB: Int64.max / 2, swapHeadroomKiB: 0)
        #expect(forecast.millisecondsUntilCrossing(nowMs: Int64.max / 4, ramHeadroomKiB: Int64.max / 2 - 1, swapHeadroomKiB: 0) == nil)
    }
}
