import Testing

@testable import bustd

/// -M and -S: sizes parsed as hostile input, and combined with -m and -s
/// by earlyoom's rule (the lower applies; a size alone replaces the default).
@Suite struct SizeOptionTests {
    func size(_ text: String) -> Int64? { try? parseSize(Substring(text), option: "-M", what: "a size") }

    @Test func kibByDefaultAndPowersOf1024WithSuffixes() {
        #expect(size("0") == 0)
        #expect(size("512") == 512)
        #expect(size("512K") == 512)
        #expect(size("512k") == 512)
        #expect(size("3M") == 3072)
        #expect(size("2g") == 2_097_152)
        #expect(size("2G") == 2_097_152)
        #expect(size("1T") == 1 << 30)
        #expect(size("1024T") == maximumSizeKiB)
        #expect(size("007") == 7)
    }

    @Test(arguments: [
        "", "K", "G", "-1", "+1", "-1G", " 1", "1 ", "1.5G", "1,5", "1GB", "1GiB", "1P", "1e9", "0x10", "G1", "1G1", "1\u{0}",
        "１", "1 G", "١",
    ])
    func garbageIsRefused(text: String) {
        #expect(size(text) == nil, "\(text) accepted")
    }

    @Test func overflowIsRefusedAtEverySuffix() {
        #expect(size("1025T") == nil)
        #expect(size(String(maximumSizeKiB + 1)) == nil)
        #expect(size("1073741825M") == nil)  // 1 PiB + 1 MiB
        #expect(size("9223372036854775807") == nil)
        #expect(size("99999999999999999999999999999999G") == nil)
        #expect(size("18446744073709551616") == nil)
    }

    @Test func killSizeDefaultsToHalfAndMayNotExceedSize() throws {
        #expect(try parseSizeThresholds("4G", option: "-M") == SizeThresholds(terminate: 4 << 20, kill: 2 << 20))
        #expect(try parseSizeThresholds("1001", option: "-M") == SizeThresholds(terminate: 1001, kill: 500))
        #expect(try parseSizeThresholds("4G,4G", option: "-M") == SizeThresholds(terminate: 4 << 20, kill: 4 << 20))
        #expect(try parseSizeThresholds("4G,100M", option: "-M") == SizeThresholds(terminate: 4 << 20, kill: 100 << 10))
        #expect(try parseSizeThresholds("0,0", option: "-M") == SizeThresholds(terminate: 0, kill: 0))
    }

    func error(_ arguments: [String]) -> String? {
        do {
            _ = try parseCommandLine(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    @Test(arguments: [
        (["-M", "1G,2G"], "invalid value \"1G,2G\" for -M: the SIGKILL size (2 GiB) is above the SIGTERM size (1 GiB)"),
        (["-S", "1,2"], "the SIGKILL size (2 KiB) is above the SIGTERM size (1 KiB)"),
        (
            ["-M", "lots"],
            "invalid value \"lots\" for -M: expected a size in KiB, or with a K, M, G or T suffix (e.g. 512M), at most 1024T"
        ),
        (["-M", "1G,x"], "invalid value \"x\" for -M: expected a SIGKILL size in KiB"),
        (["--min-available-size=-5"], "invalid value \"-5\" for --min-available-size"),
        (["--min-swap-size", "2000T"], "invalid value \"2000T\" for --min-swap-size"),
        (["-M", "1,2,3"], "expected SIZE or SIZE,KILL_SIZE"),
        (["-M", ""], "invalid value \"\" for -M"),
        (["-M"], "option -M needs a value"),
        (["-S", "1G,"], "invalid value \"\" for -S"),
        (["-M", "1G\n2"], "invalid value \"1G\\n2\" for -M"),
        (["-r", "0.05"], "invalid value \"0.05\" for -r: expected 0 (off) or seconds from 0.1 to 3600"),
        (["--report", "-1"], "invalid value \"-1\" for --report"),
        (["--report", "3601"], "expected seconds from 0 to 3600"),
        (["-r", "soon"], "invalid value \"soon\" for -r"),
    ])
    func badSizesAndReportsGetOneClearLine(arguments: [String], expected: String) {
        let message = error(arguments)
        #expect(message?.contains(expected) == true, "\(arguments): \(message ?? "accepted")")
        #expect(message?.contains("\n") == false)
    }

    @Test func everyFormOfTheNewOptions() throws {
        let parsed = try options("-M", "2G", "--min-swap-size=512M,100M", "-r", "2.5")
        #expect(parsed.memorySize == SizeThresholds(terminate: 2 << 20, kill: 1 << 20))
        #expect(parsed.swapSize == SizeThresholds(terminate: 512 << 10, kill: 100 << 10))
        #expect(parsed.reportIntervalMs == 2500)
        #expect(!parsed.memoryPercentGiven && !parsed.swapPercentGiven)
        let attached = try options("-nM1G", "-S2G", "-r0", "--report=1")
        #expect(!attached.daemonize && attached.memorySize?.terminate == 1 << 20 && attached.swapSize?.terminate == 2 << 20)
        #expect(attached.reportIntervalMs == 1000)
        #expect(try options().reportIntervalMs == 0 && options().memorySize == nil && options().swapSize == nil)
        #expect(try options("-r", "0").reportIntervalMs == 0)
    }
}

@Suite struct ThresholdCombinationTests {
    static let smallKiB: Int64 = 2 << 20  // 2 GiB
    static let hugeKiB: Int64 = 512 << 20  // 512 GiB

    func limits(_ arguments: String...) throws -> Limits {
        var options = Options()
        guard case .run(let parsed) = try parseCommandLine(arguments) else { throw OptionError("no run") }
        options = parsed
        return options.memoryLimits
    }

    @Test func theLowerOfPercentAndSizeAppliesOnSmallAndHugeMachines() throws {
        let both = try limits("-m", "10", "-M", "4G")
        // 2 GiB machine: 10 % is 204.8 MiB, below 4 GiB: the percentage applies.
        #expect(both.terminate.kib(ofTotal: Self.smallKiB) == Self.smallKiB / 10)
        #expect(both.terminate.percent(ofTotal: Self.smallKiB) == 1000)
        #expect(both.kill.kib(ofTotal: Self.smallKiB) == Self.smallKiB / 20)
        // 512 GiB machine: 10 % is 51.2 GiB, above 4 GiB: the size applies.
        #expect(both.terminate.kib(ofTotal: Self.hugeKiB) == 4 << 20)
        #expect(both.terminate.percent(ofTotal: Self.hugeKiB) == 78)  // 0.78 %
        #expect(both.kill.kib(ofTotal: Self.hugeKiB) == 2 << 20)
        #expect(both.terminate.describe(totalKiB: Self.hugeKiB) == "0.78% (4 GiB)")
        #expect(both.terminate.describe(totalKiB: Self.smallKiB) == "10% (204.7 MiB)")
    }

    @Test func aSizeAloneReplacesTheDefaultPercentage() throws {
        let alone = try limits("-M", "4G")
        #expect(alone.terminate == Limit(percent: nil, sizeKiB: 4 << 20))
        // Even where 10 % would be lower: the default does not cap a size given alone.
        #expect(alone.terminate.kib(ofTotal: Self.smallKiB * 4) == 4 << 20)
        #expect(alone.terminate.percent(ofTotal: Self.smallKiB * 4) == 5000)
        // The order of the options does not matter.
        #expect(try limits("-M", "4G", "-m", "10") == limits("-m", "10", "-M", "4G"))
        // Without a size, the percentages alone, as before.
        #expect(try limits().terminate == Limit(percent: 1000, sizeKiB: nil))
        #expect(try limits("-m", "20,3").kill == Limit(percent: 300, sizeKiB: nil))
    }

    @Test func swapCombinesTheSameWay() throws {
        guard case .run(let parsed) = try parseCommandLine(["-s", "50", "-S", "1G,1G"]) else { return }
        #expect(parsed.swapLimits.terminate == Limit(percent: 5000, sizeKiB: 1 << 20))
        #expect(parsed.swapLimits.kill == Limit(percent: 2500, sizeKiB: 1 << 20))
        #expect(parsed.memoryLimits.terminate == Limit(percent: 1000, sizeKiB: nil))
    }

    @Test func sizeAloneAtOrAboveTotalMemoryIsRefused() throws {
        let total: Int64 = 1 << 20
        #expect(refuseSizeAtOrAboveTotal(try options("-M", "1G"), totalKiB: total)?.message.contains("at or above total memory") == true)
        #expect(refuseSizeAtOrAboveTotal(try options("-M", "2G"), totalKiB: total) != nil)
        #expect(refuseSizeAtOrAboveTotal(try options("-M", "1048575"), totalKiB: total) == nil)
        // With -m the lower figure applies: a large size is only a cap.
        #expect(refuseSizeAtOrAboveTotal(try options("-m", "10", "-M", "2G"), totalKiB: total) == nil)
        #expect(refuseSizeAtOrAboveTotal(try options("-S", "2G"), totalKiB: total) == nil)
    }
}

/// The low-memory and pressure rules at and around absolute thresholds.
@Suite struct AbsoluteThresholdRulesTests {
    /// 10,000 KiB of RAM and of swap: 1 % is 100 KiB.
    func memory(available: Int64, swapFree: Int64 = 0, swapTotal: Int64 = 10_000) -> MemoryStatus {
        MemoryStatus(totalKiB: 10_000, availableKiB: available, swapTotalKiB: swapTotal, swapFreeKiB: swapFree)
    }

    func decision(_ status: MemoryStatus, _ arguments: String..., pressure: Int? = nil, heldMs: Int64 = 0) throws -> Decision {
        guard case .run(let parsed) = try parseCommandLine(arguments) else { throw OptionError("no run") }
        return decide(memory: status, pressure: pressure, pressureHeldMs: heldMs, config: RuleConfig(parsed))
    }

    @Test func sizeAloneFiresAtAndBelowTheSizeOnly() throws {
        // -M 3000: SIGTERM at 3000 KiB (30 %), SIGKILL at 1500; no 10 % default.
        #expect(try decision(memory(available: 3001), "-M", "3000").urgency == .none)
        #expect(try decision(memory(available: 3000), "-M", "3000").urgency == .terminate)
        #expect(try decision(memory(available: 1501), "-M", "3000").urgency == .terminate)
        #expect(try decision(memory(available: 1500), "-M", "3000").urgency == .kill)
        // Below 10 % but above a size given alone: nothing.
        #expect(try decision(memory(available: 900), "-M", "800").urgency == .none)
        #expect(try decision(memory(available: 800), "-M", "800").urgency == .terminate)
    }

    @Test func withBothTheLowerDecides() throws {
        // -m 10 (1000 KiB) with -M 600: 600 KiB applies.
        #expect(try decision(memory(available: 1000), "-m", "10", "-M", "600").urgency == .none)
        #expect(try decision(memory(available: 601), "-m", "10", "-M", "600").urgency == .none)
        #expect(try decision(memory(available: 600), "-m", "10", "-M", "600").urgency == .terminate)
        #expect(try decision(memory(available: 300), "-m", "10", "-M", "600").urgency == .kill)
        // -m 10 with -M 5000: 10 % applies, SIGKILL at 5 % (500 < 2500).
        #expect(try decision(memory(available: 1001), "-m", "10", "-M", "5000").urgency == .none)
        #expect(try decision(memory(available: 1000), "-m", "10", "-M", "5000").urgency == .terminate)
        #expect(try decision(memory(available: 501), "-m", "10", "-M", "5000").urgency == .terminate)
        #expect(try decision(memory(available: 500), "-m", "10", "-M", "5000").urgency == .kill)
    }

    @Test func swapSizeIsPartOfTheRule() throws {
        // -S 2000 alone: free swap 2001 KiB (20 %) keeps the rule off however low RAM is.
        #expect(try decision(memory(available: 100, swapFree: 2001), "-S", "2000").urgency == .none)
        #expect(try decision(memory(available: 100, swapFree: 2000), "-S", "2000").urgency == .terminate)
        #expect(try decision(memory(available: 100, swapFree: 1000), "-S", "2000").urgency == .kill)
        // No swap counts as empty, sizes or not.
        #expect(try decision(memory(available: 100, swapFree: 0, swapTotal: 0), "-S", "2000").urgency == .kill)
    }

    @Test func theExplanationNamesBothFiguresAndTheThresholdThatApplied() throws {
        let fired = try decision(memory(available: 550, swapFree: 0), "-m", "10", "-M", "600")
        #expect(fired.rule == .lowMemory)
        #expect(fired.explanation == "available memory 5.5% (550 KiB) <= 6% (600 KiB) and free swap 0% (0 KiB) <= 10% (1000 KiB)")
        let huge = MemoryStatus(totalKiB: 512 << 20, availableKiB: 3 << 20, swapTotalKiB: 0, swapFreeKiB: 0)
        let server = decide(
            memory: huge, pressure: nil, pressureHeldMs: 0, config: RuleConfig(try options("-m", "10", "-M", "4G")))
        #expect(server.explanation == "available memory 0.58% (3 GiB) <= 0.78% (4 GiB) and free swap 0% (0 KiB) <= 10% (0 KiB)")
    }

    @Test func thePressureRuleSaysBothFiguresAgainstTheGate() throws {
        let stalled = try decision(memory(available: 1900, swapFree: 10_000), "-M", "1000", pressure: 3000, heldMs: 5000)
        #expect(
            stalled.explanation
                == "memory pressure (some avg10) 30% >= 25% for 5s and available memory 19% (1.8 MiB) <= 20% (1.9 MiB)")
    }

    @Test func thePressureGateAndWarningsFollowTheSize() throws {
        // -M 1000 alone: the gate is 2000 KiB, warnings start at 1500 KiB.
        let stalled = memory(available: 2000, swapFree: 10_000)
        #expect(try decision(stalled, "-M", "1000", pressure: 9000, heldMs: 60_000).rule == .pressure)
        let roomy = memory(available: 2001, swapFree: 10_000)
        #expect(try decision(roomy, "-M", "1000", pressure: 9000, heldMs: 60_000).urgency == .none)
        let config = RuleConfig(try options("-M", "1000", "-S", "1000"))
        #expect(isApproachingLowMemory(memory(available: 1500, swapFree: 1500), config: config))
        #expect(!isApproachingLowMemory(memory(available: 1501, swapFree: 0), config: config))
        #expect(config.quickLookCeiling == Limit(percent: nil, sizeKiB: 2000))
    }

    @Test func theQuickLookCeilingStaysAboveEveryRule() throws {
        // With both, sysinfo's free RAM above either part's ceiling skips /proc/meminfo.
        let config = RuleConfig(try options("-m", "10", "-M", "600"))
        #expect(config.quickLookCeiling == Limit(percent: 2000, sizeKiB: 1200))
        #expect(!config.quickLookCeiling.isReached(freeKiB: 1201, freePercent: 1))
        #expect(config.quickLookCeiling.isReached(freeKiB: 1200, freePercent: 2000))
    }
}
