import Testing

@testable import Shared

/// The KiB figures and thresholds added with -M and -S: optional on the
/// wire, so lines from older daemons still decode (as nil), and older
/// readers, which ignore keys they do not know, still read new lines.
@Suite struct SizeFiguresCodingTests {
    static let figures = Event.Figures(
        availablePercent: 58, swapFreePercent: 0, pressurePercent: nil, availableKiB: 3 << 20, swapFreeKiB: 0)
    static let thresholds = Event.Thresholds(
        memoryTerminatePercent: 78, memoryKillPercent: 39, swapTerminatePercent: 1000, swapKillPercent: 500,
        pressureCutoffPercent: 2500, memoryTerminateKiB: 4 << 20, memoryKillKiB: 2 << 20, swapTerminateKiB: 0,
        swapKillKiB: 0)

    func event(_ payload: Event.Payload) -> Event {
        Event(sequence: 3, instance: "0123456789abcdef0123456789abcdef", timeMs: 1_764_180_000_123, payload: payload)
    }

    var kill: Event.Kill {
        Event.Kill(
            pid: 4242, uid: 1000, userName: "alice", processName: Array("hog".utf8), commandLine: Array("hog".utf8),
            executablePath: nil, rssKiB: 1 << 20, swapKiB: 0, oomScore: 900, oomScoreAdj: 0, signal: "SIGTERM",
            rule: .lowMemory, figures: Self.figures, thresholds: Self.thresholds, dryRun: true)
    }

    @Test func kibFiguresAndThresholdsRoundTrip() throws {
        for payload in [
            Event.Payload.kill(kill), .warning(Event.Warning(figures: Self.figures, thresholds: Self.thresholds, victim: nil)),
        ] {
            let line = event(payload).encodeLine()
            #expect(try decodeEvent(line: line) == event(payload))
            #expect(
                line.contains(
                    #""available_percent":0.58,"swap_free_percent":0,"pressure_percent":null,"available_kib":3145728,"swap_free_kib":0,"#))
            #expect(
                line.contains(
                    #""pressure_cutoff_percent":25,"memory_terminate_kib":4194304,"memory_kill_kib":2097152,"swap_terminate_kib":0,"swap_kill_kib":0"#
                ))
        }
    }

    @Test func linesWithoutTheKiBKeysStillDecode() throws {
        // A line as a daemon before the size thresholds wrote it.
        var old = event(.kill(kill)).encodeLine()
        let keys = ["available_kib", "swap_free_kib", "memory_terminate_kib", "memory_kill_kib", "swap_terminate_kib", "swap_kill_kib"]
        for key in keys {
            let pattern = "\"\(key)\":"
            let start = try #require(old.range(of: pattern))
            let end = old[start.upperBound...].firstIndex { $0 == "," || $0 == "}" }!
            let cut = old[end] == "," ? old.index(after: end) : end
            old.removeSubrange(start.lowerBound..<cut)
        }
        for key in keys { #expect(!old.contains(key)) }
        guard case .kill(let decoded) = try decodeEvent(line: old).payload else {
            Issue.record("not a kill")
            return
        }
        #expect(decoded.figures.availableKiB == nil && decoded.figures.swapFreeKiB == nil)
        #expect(decoded.thresholds.memoryTerminateKiB == nil && decoded.thresholds.swapKillKiB == nil)
        #expect(decoded.figures.availablePercent == 58 && decoded.thresholds.memoryTerminatePercent == 78)
        // And null reads as absent.
        let nulls = event(
            .kill(
                Event.Kill(
                    pid: 1, uid: 0, userName: nil, processName: [], commandLine: [], executablePath: nil, rssKiB: 0, swapKiB: 0,
                    oomScore: 0, oomScoreAdj: 0, signal: "SIGTERM", rule: .lowMemory,
                    figures: Event.Figures(availablePercent: 1, swapFreePercent: 2),
                    thresholds: Event.Thresholds(
                        memoryTerminatePercent: 3, memoryKillPercent: 4, swapTerminatePercent: 5, swapKillPercent: 6,
                        pressureCutoffPercent: 7), dryRun: false)))
        #expect(nulls.encodeLine().contains(#""available_kib":null,"swap_free_kib":null"#))
        #expect(try decodeEvent(line: nulls.encodeLine()) == nulls)
    }

    @Test func awaitsComparesKiBWhenTheLineHasThem() {
        // 4 GiB available against a 4 GiB threshold that rounds to 0.78 %
        // while the figure rounds to 0.78 % as well: the KiB decide.
        func awaits(availableKiB: Int64?, limitKiB: Int64?) -> Bool {
            Event.Warning(
                figures: Event.Figures(availablePercent: 78, swapFreePercent: 0, availableKiB: availableKiB, swapFreeKiB: 0),
                thresholds: Event.Thresholds(
                    memoryTerminatePercent: 78, memoryKillPercent: 39, swapTerminatePercent: 1000, swapKillPercent: 500,
                    pressureCutoffPercent: 2500, memoryTerminateKiB: limitKiB, swapTerminateKiB: 0),
                victim: nil
            ).awaits.memory
        }
        #expect(awaits(availableKiB: (4 << 20) + 1, limitKiB: 4 << 20))
        #expect(!awaits(availableKiB: 4 << 20, limitKiB: 4 << 20))
        // An older line: the percentages alone.
        #expect(!awaits(availableKiB: nil, limitKiB: nil))
        #expect(!awaits(availableKiB: (4 << 20) + 1, limitKiB: nil))
    }
}
