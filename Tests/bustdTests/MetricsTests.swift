import Foundation
import Shared
import Testing

@testable import bustd

/// promtool (Debian's prometheus package), when installed.
enum Promtool {
    static let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs promtool with input on stdin; returns its exit status and output.
    static func run(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path, "promtool is not installed (apt-get install prometheus)"))
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

extension Trait where Self == ConditionTrait {
    static var needsPromtool: Self { .enabled(if: Promtool.path != nil, "promtool is not installed (Debian's prometheus package)") }
}

@Suite struct MetricsRenderingTests {
    static let thresholds = Event.Thresholds(
        memoryTerminatePercent: 1000, memoryKillPercent: 500, swapTerminatePercent: 1500, swapKillPercent: 750,
        pressureCutoffPercent: 2500)

    static func kill(rule: Event.Rule, signal: String, dryRun: Bool = false) -> Event.Payload {
        .kill(
            Event.Kill(
                pid: 42, uid: 1000, userName: nil, processName: Array("hog".utf8), commandLine: [], executablePath: nil,
                rssKiB: 1, swapKiB: 0, oomScore: 1, oomScoreAdj: 0, signal: signal, rule: rule,
                figures: Event.Figures(availablePercent: 800, swapFreePercent: 0), thresholds: thresholds, dryRun: dryRun))
    }

    static func gauges() -> MetricsGauges {
        MetricsGauges(
            memory: MemoryStatus(totalKiB: 1_000_000, availableKiB: 63_200, swapTotalKiB: 0, swapFreeKiB: 0),
            pressure: PressureFigures(some: PressureLine(avg10: 1234), full: PressureLine(avg10: 5)),
            thresholds: thresholds, residentBytes: 1_234_567, peersDropped: 3, startUnixMs: 1_700_000_000_250)
    }

    /// The sample lines (not comments), as "name{labels} value".
    static func samples(_ text: String) -> [String] { text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init) }

    @Test func countsEventsByRuleAndSignal() {
        var counters = MetricsCounters()
        counters.count(Self.kill(rule: .lowMemory, signal: "SIGTERM"), realtimeMs: 1_000)
        counters.count(Self.kill(rule: .lowMemory, signal: "SIGTERM"), realtimeMs: 2_000)
        counters.count(Self.kill(rule: .pressure, signal: "SIGTERM"), realtimeMs: 3_000)
        counters.count(Self.kill(rule: .lowMemory, signal: "SIGKILL", dryRun: true), realtimeMs: 9_000)
        counters.count(.killFailed(Event.KillFailed(pid: 1, uid: 0, processName: [], reason: "x")), realtimeMs: 0)
        counters.count(
            .warning(
                Event.Warning(figures: Event.Figures(availablePercent: 1, swapFreePercent: 0), thresholds: Self.thresholds, victim: nil)),
            realtimeMs: 0)
        counters.count(.kernelOOM(Event.KernelOOM(count: 3, source: .vmstat)), realtimeMs: 0)
        counters.count(.kernelOOM(Event.KernelOOM(count: 2, source: .vmstat)), realtimeMs: 0)
        let samples = Self.samples(renderMetrics(counters, Self.gauges()))
        for expected in [
            #"bustd_kills_total{rule="low-memory",signal="SIGTERM"} 2"#,
            #"bustd_kills_total{rule="low-memory",signal="SIGKILL"} 0"#,
            #"bustd_kills_total{rule="pressure",signal="SIGTERM"} 1"#,
            #"bustd_kills_total{rule="pressure",signal="SIGKILL"} 0"#,
            #"bustd_dry_run_kills_total{rule="low-memory",signal="SIGKILL"} 1"#,
            "bustd_kill_failures_total 1", "bustd_warnings_total 1", "bustd_kernel_oom_kills_total 5",
            "bustd_event_peers_dropped_total 3",
            // The dry run's "would kill" is not a kill: the last one was at 3 s.
            "bustd_last_kill_time_seconds 3",
        ] {
            #expect(samples.contains(expected), "\(expected) missing from:\n\(samples.joined(separator: "\n"))")
        }
    }

    @Test func gaugesInBaseUnitsAndRatios() {
        let samples = Self.samples(renderMetrics(MetricsCounters(), Self.gauges()))
        for expected in [
            "bustd_memory_total_bytes 1024000000", "bustd_memory_available_bytes 64716800",
            "bustd_memory_available_ratio 0.0632", "bustd_swap_free_ratio 0", "bustd_swap_total_bytes 0",
            #"bustd_pressure_avg10_ratio{kind="some"} 0.1234"#, #"bustd_pressure_avg10_ratio{kind="full"} 0.0005"#,
            #"bustd_threshold_ratio{resource="memory",signal="SIGTERM"} 0.1"#,
            #"bustd_threshold_ratio{resource="swap",signal="SIGKILL"} 0.075"#,
            "bustd_pressure_cutoff_ratio 0.25", "bustd_resident_memory_bytes 1234567",
            "bustd_start_time_seconds 1700000000.25", "bustd_last_kill_time_seconds 0",
        ] {
            #expect(samples.contains(expected), "\(expected) missing from:\n\(samples.joined(separator: "\n"))")
        }
        // Without PSI and memory figures, their series are left out, not zero.
        var bare = Self.gauges()
        bare.pressure = nil
        bare.memory = nil
        let text = renderMetrics(MetricsCounters(), bare)
        #expect(!text.contains("bustd_pressure_avg10_ratio") && !text.contains("bustd_memory_available_bytes"))
    }

    /// Every family has one HELP and one TYPE line, before its samples, and
    /// its samples together; names follow Prometheus's rules.
    @Test func everyFamilyHasHelpAndTypeBeforeItsSamplesTogether() {
        let text = renderMetrics(MetricsCounters(), Self.gauges())
        var helped: [String] = []
        var typed: [String: String] = [:]
        var finished: Set<String> = []
        var current: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if line.hasPrefix("# HELP ") {
                helped.append(String(fields[2]))
            } else if line.hasPrefix("# TYPE ") {
                #expect(helped.last == String(fields[2]), "TYPE without HELP: \(line)")
                typed[String(fields[2])] = String(fields[3])
            } else {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(typed[name] != nil, "a sample before its TYPE: \(line)")
                if current != name, let current { finished.insert(current) }
                #expect(!finished.contains(name), "\(name)'s samples are split")
                current = name
            }
        }
        #expect(Set(helped).count == helped.count, "a family twice")
        for (name, type) in typed {
            #expect(name.hasPrefix("bustd_"))
            #expect(name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" }, "\(name)")
            #expect((type == "counter") == name.hasSuffix("_total"), "\(name) is a \(type)")
            #expect(!name.contains("percent") && !name.contains("kib"), "\(name): base units and ratios")
        }
        #expect(text.hasSuffix("\n"))
    }

    @Test func labelValuesAndHelpAreEscaped() {
        #expect(escapeMetricText(#"a"b\c"# + "\nd", quote: true) == #"a\"b\\c\nd"#)
        #expect(escapeMetricText(#"a"b\c"# + "\n", quote: false) == #"a"b\\c\n"#)
        let text = renderMetrics(MetricsCounters(), Self.gauges(), version: "1.0\"\n{x}")
        #expect(text.contains(#"bustd_info{version="1.0\"\n{x}"} 1"#), "\(text)")
    }

    @Test func scaledDecimals() {
        #expect(formatScaled(632, scale: 10_000) == "0.0632")
        #expect(formatScaled(10_000, scale: 10_000) == "1")
        #expect(formatScaled(1500, scale: 10_000) == "0.15")
        #expect(formatScaled(0, scale: 10_000) == "0")
        #expect(formatScaled(1_700_000_000_001, scale: 1000) == "1700000000.001")
        #expect(formatScaled(-5, scale: 100) == "-0.05")
    }

    @Test(.needsPromtool) func promtoolAcceptsTheRendering() throws {
        var counters = MetricsCounters()
        counters.count(Self.kill(rule: .pressure, signal: "SIGKILL"), realtimeMs: 1_733_000_000_123)
        let result = try Promtool.run(["check", "metrics"], input: renderMetrics(counters, Self.gauges(), version: "a\"b"))
        #expect(result.status == 0, "\(result.output)")
    }
}

/// The atomic replacement, and what a root daemon must not be tricked into.
@Suite struct AtomicFileTests {
    func directory(mode: mode_t = 0o755) -> String {
        let path = Harness.privatePath("-metrics")
        mkdir(path, mode)
        chmod(path, mode)
        return path
    }

    func open(_ path: String) throws -> AtomicFile {
        switch AtomicFile.open(path, for: "the metrics file") {
        case .success(let file): return file
        case .failure(let error): throw HarnessError(error.message)
        }
    }

    func refusal(_ path: String) -> String? {
        if case .failure(let error) = AtomicFile.open(path, for: "the metrics file") { return error.message }
        return nil
    }

    @Test func replacesTheFileWholeAndLeavesNoTemporaryFile() throws {
        let dir = directory()
        let file = try open(dir + "/bustd.prom")
        #expect(file.replace(with: Array("first\n".utf8)) == nil)
        #expect(try String(contentsOfFile: dir + "/bustd.prom", encoding: .utf8) == "first\n")
        #expect(file.replace(with: Array("second\n".utf8)) == nil)
        #expect(try String(contentsOfFile: dir + "/bustd.prom", encoding: .utf8) == "second\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["bustd.prom"])
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/bustd.prom")[.posixPermissions] as? Int)
        #expect(mode == 0o644)
    }

    /// A reader polling the file while it is rewritten with large contents
    /// sees one whole version or the other, never a part.
    @Test func aReaderNeverSeesAPartialFile() throws {
        let dir = directory()
        let path = dir + "/bustd.prom"
        let file = try open(path)
        let versions = (0..<2).map { index in Array(String(repeating: "line \(index) of many\n", count: 40_000).utf8) }
        #expect(file.replace(with: versions[0]) == nil)
        let tally = ReadTally()
        let reader = Thread {
            while !tally.isDone {
                if let data = FileManager.default.contents(atPath: path) {
                    tally.add(partial: data != Data(versions[0]) && data != Data(versions[1]))
                }
            }
        }
        reader.start()
        for round in 0..<30 { #expect(file.replace(with: versions[round % 2]) == nil) }
        tally.finish()
        while !reader.isFinished { usleep(1000) }
        let (reads, partial) = tally.counts
        #expect(reads > 0)
        #expect(partial == 0, "\(partial) of \(reads) reads saw a partial file")
    }

    @Test func refusesALinkAtThePathAndADirectoryOthersMayWrite() throws {
        let dir = directory()
        let target = dir + "/target"
        FileManager.default.createFile(atPath: target, contents: Data("precious".utf8))
        symlink(target, dir + "/linked.prom")
        #expect(refusal(dir + "/linked.prom")?.contains("not a regular file") == true)
        // The directory itself a link.
        symlink(dir, dir + "-link")
        #expect(refusal(dir + "-link/bustd.prom")?.contains("cannot open the directory") == true)
        let open = directory(mode: 0o777)
        #expect(refusal(open + "/bustd.prom")?.contains("writable by others") == true)
        let group = directory(mode: 0o775)
        #expect(refusal(group + "/bustd.prom")?.contains("writable by others") == true)
        // With the sticky bit (like /tmp) others cannot rename or remove bustd's files.
        let sticky = directory(mode: 0o1777)
        #expect(refusal(sticky + "/bustd.prom") == nil)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious")
    }

    /// A link planted at the temporary name, or at the final name after
    /// start, is replaced as a name: its target is never written.
    @Test func aPlantedTemporaryFileOrLinkIsNeverWrittenThrough() throws {
        let dir = directory()
        let target = dir + "/target"
        FileManager.default.createFile(atPath: target, contents: Data("precious".utf8))
        let file = try open(dir + "/bustd.prom")
        #expect(symlink(target, dir + "/.bustd.prom.tmp") == 0)
        #expect(file.replace(with: Array("metrics\n".utf8)) == nil)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious")
        #expect(try String(contentsOfFile: dir + "/bustd.prom", encoding: .utf8) == "metrics\n")
        // Planted at the final name while bustd runs.
        try FileManager.default.removeItem(atPath: dir + "/bustd.prom")
        #expect(symlink(target, dir + "/bustd.prom") == 0)
        #expect(file.replace(with: Array("again\n".utf8)) == nil)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious")
        var info = stat()
        #expect(lstat(dir + "/bustd.prom", &info) == 0 && info.st_mode & S_IFMT == S_IFREG)
        // A directory planted at the temporary name: the write fails, says why, and
        // the last file stays.
        #expect(mkdir(dir + "/.bustd.prom.tmp", 0o755) == 0)
        #expect(file.replace(with: Array("third\n".utf8))?.contains("cannot create") == true)
        #expect(try String(contentsOfFile: dir + "/bustd.prom", encoding: .utf8) == "again\n")
    }
}

/// What the reader thread saw; it stops when told.
final class ReadTally: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var reads = 0
    private var partial = 0
    var isDone: Bool { lock.withLock { done } }
    var counts: (reads: Int, partial: Int) { lock.withLock { (reads, partial) } }
    func finish() { lock.withLock { done = true } }
    func add(partial isPartial: Bool) {
        lock.withLock {
            reads += 1
            if isPartial { partial += 1 }
        }
    }
}
