import Testing

@testable import Shared
@testable import bustd

/// `bustd status`: its command line, its rate per peer, its text.
@Suite struct StatusTests {
    @Test func commandLine() throws {
        guard case .status(let plain) = try parseCommandLine(["status"]) else {
            Issue.record("not a status command")
            return
        }
        #expect(plain == StatusCommand(socketPath: "/run/bustd/bustd.sock", json: false))
        guard case .status(let both) = try parseCommandLine(["status", "--json", "--socket", "/tmp/x.sock"]) else {
            Issue.record("not a status command")
            return
        }
        #expect(both == StatusCommand(socketPath: "/tmp/x.sock", json: true))
        #expect(try StatusCommand.parse(["--socket=/a"]).socketPath == "/a")
        #expect(throws: OptionError.self) { try parseCommandLine(["status", "-m", "10"]) }
        #expect(throws: OptionError.self) { try parseCommandLine(["status", "--socket"]) }
        #expect(throws: OptionError.self) { try parseCommandLine(["status", "--socket="]) }
        // Only as the first word: elsewhere it is an operand, refused as before.
        #expect(throws: OptionError.self) { try parseCommandLine(["-n", "status"]) }
    }

    @Test func aPeerGetsABurstThenOneRequestPerRefill() {
        var rate = StatusRateLimit()
        for _ in 0..<StatusRateLimit.burst { #expect(rate.take(nowMs: 10_000) == nil) }
        #expect(rate.take(nowMs: 10_000) == StatusRateLimit.refillMs, "the next one comes a refill later")
        #expect(rate.take(nowMs: 10_100) == StatusRateLimit.refillMs - 100)
        #expect(rate.take(nowMs: 10_250) == nil)
        #expect(rate.take(nowMs: 10_260) != nil)
        // A long quiet spell refills the burst, no more.
        for _ in 0..<StatusRateLimit.burst { #expect(rate.take(nowMs: 100_000) == nil) }
        #expect(rate.take(nowMs: 100_000) != nil)
        // Asking in a loop never gets more than one per refill.
        var served = 0
        for now in stride(from: Int64(200_000), to: 210_000, by: 10) where rate.take(nowMs: now) == nil { served += 1 }
        #expect(served <= StatusRateLimit.burst + Int(10_000 / StatusRateLimit.refillMs))
    }

    @Test func textPutsEachFigureBesideItsLimit() {
        let status = DaemonStatus(
            instance: "i", timeMs: 0, daemonVersion: "0.2.0", uptimeMs: 7_500_000, scope: .ownUID, peerUID: 1000,
            dryRun: true,
            figures: Event.Figures(
                availablePercent: 6320, swapFreePercent: 5000, pressurePercent: 12, availableKiB: 10_485_760,
                swapFreeKiB: 1_048_576),
            totalKiB: 16_777_216, swapTotalKiB: 2_097_152,
            thresholds: Event.Thresholds(
                memoryTerminatePercent: 1000, memoryKillPercent: 500, swapTerminatePercent: 1000, swapKillPercent: 500,
                pressureCutoffPercent: 2500, memoryTerminateKiB: 1_677_721, memoryKillKiB: 838_860,
                swapTerminateKiB: 209_715, swapKillKiB: 104_857),
            pressureMetric: "some", pollIntervalMs: 1000, forecastMs: 1500,
            candidate: .init(pid: 4242, uid: 1000, processName: Array("bad\nname\u{1B}[2J".utf8), rssKiB: 1_258_291),
            kills: 1, warnings: 2, kernelOOMKills: 0, lastKillTimeMs: 1_000_000, lastKill: nil)
        let text = statusText(status, nowMs: 1_180_000)
        #expect(
            text == """
                bustd 0.2.0, up 2 h 5 min, dry run (kills nothing)
                available memory  63.2 % (10 GiB of 16 GiB); SIGTERM at 10 % (1.5 GiB), SIGKILL at 5 % (819.1 MiB)
                free swap         50 % (1 GiB of 2 GiB); SIGTERM at 10 % (204.7 MiB), SIGKILL at 5 % (102.3 MiB)
                memory pressure   0.12 % (some avg10); cutoff 25 %
                poll interval     1 s
                forecast          a threshold crossed in about 1.5 s
                first candidate   pid 4242 (uid 1000) "bad\\nname\\u001b[2J", RSS 1.1 GiB
                since start       1 would-be kill of your processes, 2 warnings, 0 kernel OOM kills
                last kill         3 min ago (process not shown)

                """)
        var none = status
        none.candidate = nil
        none.swapTotalKiB = 0
        none.figures.pressurePercent = nil
        none.forecastMs = nil
        none.lastKillTimeMs = nil
        let plain = statusText(none, nowMs: 0)
        #expect(plain.contains("first candidate   none among your processes (you see only your own)"))
        #expect(plain.contains("free swap         no swap") && plain.contains("not available (no PSI)"))
        #expect(plain.contains("last kill         none of your processes") && !plain.contains("forecast"))
        var root = none
        root.scope = .all
        #expect(statusText(root, nowMs: 0).contains("since start       1 would-be kill, 2 warnings"))
        #expect(statusText(root, nowMs: 0).contains("first candidate   none\n"))
    }

    @Test func bookCountsKillsInAllAndPerUser() {
        var book = StatusBook(startedMs: 0)
        func kill(_ pid: Int32, _ uid: UInt32) -> Event.Payload {
            .kill(
                Event.Kill(
                    pid: pid, uid: uid, userName: nil, processName: Array("p\(pid)".utf8), commandLine: [],
                    executablePath: nil, rssKiB: 1, swapKiB: 0, oomScore: 0, oomScoreAdj: 0, signal: "SIGTERM",
                    rule: .lowMemory, figures: Event.Figures(availablePercent: 0, swapFreePercent: 0),
                    thresholds: Event.Thresholds(
                        memoryTerminatePercent: 0, memoryKillPercent: 0, swapTerminatePercent: 0, swapKillPercent: 0,
                        pressureCutoffPercent: 0), dryRun: false))
        }
        book.note(kill(10, 1000))
        book.note(kill(11, 1001))
        book.note(kill(12, 1000))
        book.note(
            .warning(
                Event.Warning(
                    figures: .init(availablePercent: 0, swapFreePercent: 0),
                    thresholds: .init(
                        memoryTerminatePercent: 0, memoryKillPercent: 0, swapTerminatePercent: 0, swapKillPercent: 0,
                        pressureCutoffPercent: 0), victim: nil)))
        book.note(.kernelOOM(Event.KernelOOM(count: 3, source: .vmstat)))
        #expect(book.kills == 3 && book.warnings == 1 && book.kernelOOMKills == 3 && book.lastKill?.pid == 12)
        #expect(book.kills(ofUser: 1000).count == 2 && book.kills(ofUser: 1000).last?.pid == 12)
        #expect(book.kills(ofUser: 1001).count == 1 && book.kills(ofUser: 1001).last?.pid == 11)
        #expect(book.kills(ofUser: 1002) == DaemonStatus.UserKills())
        // Bounded: the users killed longest ago are forgotten first.
        for uid in UInt32(2000)..<UInt32(2000 + StatusBook.usersKept) { book.note(kill(1, uid)) }
        #expect(book.kills(ofUser: 1001).count == 0 && book.kills(ofUser: 2000).count == 1)
    }

    @Test func durations() {
        #expect(formatDuration(850) == "850 ms")
        #expect(formatDuration(1500) == "1.5 s")
        #expect(formatDuration(42_000) == "42 s")
        #expect(formatDuration(180_000) == "3 min")
        #expect(formatDuration(7_200_000) == "2 h")
        #expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000) == "3 d 4 h")
    }
}
