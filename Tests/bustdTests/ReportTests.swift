import Testing

@testable import bustd

/// -r: the report's line and its timing.
@Suite struct ReportTests {
    static let memory = MemoryStatus(
        totalKiB: 23_909 * 1024 + 512, availableKiB: 21_790 * 1024 + 1023, swapTotalKiB: 4096 * 1024, swapFreeKiB: 1024 * 1024)

    @Test func lineHasMiBAndPercentOfBothAndPSIWhenKnown() {
        var pressure = PressureFigures()
        pressure.some.avg10 = 12
        pressure.full.avg10 = 3
        #expect(
            PeriodicReport.line(Self.memory, pressure: pressure, metric: .some)
                == "memory report: available 21790 of 23909 MiB (91.13%), swap free 1024 of 4096 MiB (25%), PSI some avg10 0.12%")
        #expect(
            PeriodicReport.line(Self.memory, pressure: pressure, metric: .full)
                == "memory report: available 21790 of 23909 MiB (91.13%), swap free 1024 of 4096 MiB (25%), PSI some avg10 0.12%, full avg10 0.03%"
        )
        // No PSI (CONFIG_PSI off), no swap.
        let noSwap = MemoryStatus(totalKiB: 1024 * 1024, availableKiB: 100 * 1024, swapTotalKiB: 0, swapFreeKiB: 0)
        #expect(
            PeriodicReport.line(noSwap, pressure: nil, metric: .some)
                == "memory report: available 100 of 1024 MiB (9.76%), swap free 0 of 0 MiB (0%)")
    }

    @Test func firstReportAtOnceThenEveryIntervalWithoutDrift() {
        var report = PeriodicReport(intervalMs: 1000, nowMs: 5000)
        func take(_ nowMs: Int64) -> Bool { report.take(nowMs: nowMs) }
        #expect(report.dueInMs(nowMs: 5000) == 0)
        #expect(take(5000))
        #expect(!take(5000))
        #expect(report.dueInMs(nowMs: 5300) == 700)
        #expect(!take(5999))
        // Woken 30 ms late: the next is still due at 7000, not 7030.
        #expect(take(6030))
        #expect(report.dueInMs(nowMs: 6030) == 970)
        // Asleep for 10 s (suspend, a long look): one report, then an interval from now.
        #expect(take(16_500))
        #expect(!take(16_600))
        #expect(report.dueInMs(nowMs: 16_500) == 1000)
    }

    @Test func theSleepEndsWhenAReportIsDue() {
        // Off: the interval as the rules computed it, whatever it is.
        #expect(PollInterval.milliseconds(5000, reportDueInMs: nil) == 5000)
        #expect(PollInterval.milliseconds(37, reportDueInMs: nil) == 37)
        // On: no longer than until the report; never shorter than the rules ask.
        #expect(PollInterval.milliseconds(5000, reportDueInMs: 1000) == 1000)
        #expect(PollInterval.milliseconds(100, reportDueInMs: 1000) == 100)
        #expect(PollInterval.milliseconds(5000, reportDueInMs: 0) == 1)
    }

    @Test func offByDefault() throws {
        #expect(try options().reportIntervalMs == 0)
    }
}
