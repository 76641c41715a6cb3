import Testing

@testable import bustd

/// KillPacing replayed the way the Monitor uses it: each look's figures go
/// through the rules, and a look where no rule fires ends the emergency.
@Suite struct KillPacingTests {
    /// The e2e guest's memory (MemTotal 981,464 kB), no swap.
    static let totalKiB: Int64 = 981_464
    let config = RuleConfig(try! options())  // SIGTERM at 10 %, SIGKILL at 5 %

    func kib(_ percent: Double) -> Int64 { Int64(Double(Self.totalKiB) * percent / 100) }

    func status(_ percent: Double) -> MemoryStatus {
        MemoryStatus(totalKiB: Self.totalKiB, availableKiB: kib(percent), swapTotalKiB: 0, swapFreeKiB: 0)
    }

    /// The verdict at each look (nil where no rule fired).
    func replay(_ pacing: inout KillPacing, _ looks: [(ms: Int64, percent: Double)], dying: Bool = false) -> [KillPacing.Verdict?] {
        looks.map { look in
            let decision = decide(memory: status(look.percent), pressure: nil, pressureHeldMs: 0, config: config)
            guard decision.urgency != .none else {
                pacing.reset()
                return nil
            }
            return pacing.verdict(
                urgency: decision.urgency, availableKiB: kib(look.percent), totalKiB: Self.totalKiB,
                nowMs: look.ms, victimsDying: dying)
        }
    }

    /// Twelve growers in the e2e guest, before this pacing: the second
    /// victim exited at 6,583 ms with 5.73 % available; memory then fell,
    /// through the SIGKILL threshold, while a fixed 1 s cooldown waited
    /// (the next kill came at 7,785 ms at 0.33 %, and the kernel's OOM
    /// killer fired). The figures are the guest's own samples.
    @Test func manyGrowersActAsSoonAsMemoryFallsAgain() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 6583, availableKiB: kib(5.73))
        let verdicts = replay(&pacing, [(7060, 5.52), (7449, 3.36)])
        #expect(verdicts[0] == .act, "memory fell below what the exit left: the kill was not enough")
    }

    @Test func theSIGKILLThresholdNeverWaits() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 1000, availableKiB: kib(9.0))
        #expect(replay(&pacing, [(1010, 4.9)]) == [.act])
        var holding = KillPacing(cooldownMs: 60_000)
        holding.killUnfinished(nowMs: 1000)
        #expect(replay(&holding, [(1010, 6.0), (1020, 4.9)]) == [.wait(ms: 59_990, reason: "the last kill did not end in an exit"), .act])
    }

    /// One emergency, one victim: a release that is still showing, or that
    /// holds still below the threshold, gets the whole cooldown.
    @Test func aReleaseStillShowingIsWaitedFor() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 1000, availableKiB: kib(8.0))
        let verdicts = replay(&pacing, [(1025, 8.5), (1050, 9.0), (1075, 9.3), (1500, 9.3), (1990, 9.25), (2000, 9.25)])
        #expect(verdicts.dropLast().allSatisfy { if case .wait = $0 { true } else { false } })
        #expect(verdicts.last == .act, "the cooldown bounds the wait")
    }

    @Test func aFallAfterTheReleaseEndsTheWait() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 1000, availableKiB: kib(8.0))
        // Up to 9 %, then down by 0.5 % (five times the counters' noise).
        let verdicts = replay(&pacing, [(1025, 9.0), (1050, 8.95), (1075, 8.5)])
        #expect(verdicts[1] == .wait(ms: 25, reason: "memory is not falling again yet"), "a fall within the noise is not a fall")
        #expect(verdicts[2] == .act)
    }

    @Test func memoryBackAboveTheThresholdsEndsTheEmergency() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 1000, availableKiB: kib(9.0))
        // Up to 40 %, then a new fall: a new emergency, acted on at once.
        #expect(replay(&pacing, [(1025, 40.0), (1200, 9.9)]) == [nil, .act])
    }

    @Test func aVictimLeftDyingIsWaitedForBelowTheKillLevelOnly() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.victimGone(nowMs: 1000, availableKiB: kib(4.0))
        #expect(replay(&pacing, [(1025, 6.0)], dying: true) == [.wait(ms: 25, reason: "the last victim has not exited yet")])
        #expect(replay(&pacing, [(1050, 4.5)], dying: true) == [.act])
    }

    @Test func nothingKillableBacksOffLessAtTheKillLevel() {
        var pacing = KillPacing(cooldownMs: 1000)
        pacing.noVictim(nowMs: 1000)
        #expect(replay(&pacing, [(2000, 8.0)]) == [.wait(ms: 4000, reason: "no process could be killed")])
        #expect(replay(&pacing, [(2000, 4.0)]) == [.act])
    }

    @Test func recoveryTextSaysWhatOthersTookMeanwhile() {
        // 1,000,000 KiB: 1 % is 10,000 KiB.
        func status(_ kib: Int64) -> MemoryStatus { MemoryStatus(totalKiB: 1_000_000, availableKiB: kib, swapTotalKiB: 0, swapFreeKiB: 0) }
        let text = recoveryText(availableBeforeKiB: 98_400, after: status(93_800), heldKiB: 76_800)
        #expect(
            text
                == "no memory recovered on balance (available 9.84% (96 MiB) -> 9.38% (91.6 MiB)): the victim held 75 MiB, and others grew by 79.4 MiB meanwhile"
        )
        #expect(
            recoveryText(availableBeforeKiB: 42_000, after: status(109_000), heldKiB: 65_536)
                == "memory recovered 65.4 MiB (available 4.2% (41 MiB) -> 10.9% (106.4 MiB))")
    }

    @Test func verboseStampsAreSecondsToTheMillisecond() {
        #expect(monotonicStamp(5_012_345_678) == "[5012.345]")
        #expect(monotonicStamp(1_007_999) == "[1.007]")
        #expect(monotonicStamp(40_000) == "[0.040]")
    }
}
