import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// What bustd has done since it started, counted from its own events.
/// Every series is there from the start (at 0), so that rate() and
/// increase() see the first kill as an increase, not as a new series.
struct MetricsCounters: Equatable {
    /// Signals sent to victims, by rule and first signal: [rule * 2 + signal]
    /// with rule 0 low-memory, 1 pressure and signal 0 SIGTERM, 1 SIGKILL.
    var kills = [UInt64](repeating: 0, count: 4)
    /// The same for a dry run's "would kill".
    var dryRunKills = [UInt64](repeating: 0, count: 4)
    var killFailures: UInt64 = 0
    var warnings: UInt64 = 0
    var kernelOOMKills: UInt64 = 0
    /// Wall clock of the last signal sent to a victim (not a dry run's).
    var lastKillUnixMs: Int64?

    static let rules: [Event.Rule] = [.lowMemory, .pressure]
    static let signals = ["SIGTERM", "SIGKILL"]

    mutating func count(_ payload: Event.Payload, realtimeMs: Int64) {
        switch payload {
        case .kill(let kill):
            let index = (kill.rule == .pressure ? 2 : 0) + (kill.signal == "SIGKILL" ? 1 : 0)
            if kill.dryRun {
                dryRunKills[index] += 1
            } else {
                kills[index] += 1
                lastKillUnixMs = realtimeMs
            }
        case .killFailed: killFailures += 1
        case .warning: warnings += 1
        case .kernelOOM(let oom): kernelOOMKills += oom.count
        case .hello, .killed: break
        }
    }
}

/// The figures of the moment a metrics file is written.
struct MetricsGauges {
    var memory: MemoryStatus?
    var pressure: PressureFigures?
    var thresholds: Event.Thresholds
    var residentBytes: Int64?
    var peersDropped: UInt64 = 0
    var startUnixMs: Int64 = 0
}

/// The Prometheus text exposition format (version 0.0.4), as
/// node_exporter's textfile collector reads it. Names follow Prometheus's
/// rules: a bustd_ prefix, base units (bytes, seconds), ratios from 0 to 1
/// rather than percentages, and _total on counters.
func renderMetrics(_ counters: MetricsCounters, _ gauges: MetricsGauges, version: String = bustdVersion) -> String {
    var out = MetricsText()
    out.family("bustd_info", "gauge", "Always 1; the running bustd's version in a label.")
    out.sample("bustd_info", [("version", version)], "1")
    out.family("bustd_start_time_seconds", "gauge", "When bustd started, in seconds since the Unix epoch.")
    out.sample("bustd_start_time_seconds", [], formatScaled(gauges.startUnixMs, scale: 1000))

    // A family's samples follow its HELP and TYPE lines, together.
    for (name, help, values) in [
        ("bustd_kills_total", "Victims signalled, by the rule that fired and the first signal sent.", counters.kills),
        ("bustd_dry_run_kills_total", "Victims a dry run would have signalled, by rule and signal.", counters.dryRunKills),
    ] {
        out.family(name, "counter", help)
        for (rule, ruleName) in MetricsCounters.rules.enumerated() {
            for (signal, signalName) in MetricsCounters.signals.enumerated() {
                out.sample(name, [("rule", ruleName.rawValue), ("signal", signalName)], "\(values[rule * 2 + signal])")
            }
        }
    }
    out.counter(
        "bustd_kill_failures_total", "Victims that could not be killed (signal refused, or alive after SIGKILL).", counters.killFailures)
    out.counter("bustd_warnings_total", "Low-memory warnings (memory within half the SIGTERM threshold of it).", counters.warnings)
    out.counter("bustd_kernel_oom_kills_total", "Processes the kernel's own OOM killer killed while bustd ran.", counters.kernelOOMKills)
    out.counter(
        "bustd_event_peers_dropped_total", "Event socket peers dropped for misbehaving (not reading, writing).", gauges.peersDropped)
    out.gauge(
        "bustd_last_kill_time_seconds", "When bustd last signalled a victim, in seconds since the Unix epoch; 0 before the first.",
        counters.lastKillUnixMs.map { formatScaled($0, scale: 1000) } ?? "0")

    if let memory = gauges.memory {
        out.gauge("bustd_memory_total_bytes", "Total RAM (or the scope's limit) bustd decides on.", "\(memory.totalKiB * 1024)")
        out.gauge(
            "bustd_memory_available_bytes", "Available memory (MemAvailable, or under the scope's limit).", "\(memory.availableKiB * 1024)")
        out.gauge(
            "bustd_memory_available_ratio", "Available memory over total, 0 to 1.",
            formatScaled(Int64(memory.availablePercent), scale: 10_000))
        out.gauge("bustd_swap_total_bytes", "Total swap.", "\(memory.swapTotalKiB * 1024)")
        out.gauge("bustd_swap_free_bytes", "Free swap.", "\(memory.swapFreeKiB * 1024)")
        out.gauge(
            "bustd_swap_free_ratio", "Free swap over total, 0 to 1 (0 without swap).",
            formatScaled(Int64(memory.swapFreePercent), scale: 10_000))
    }
    if let pressure = gauges.pressure {
        out.family("bustd_pressure_avg10_ratio", "gauge", "Memory pressure (PSI): share of the last 10 s stalled, 0 to 1.")
        out.sample("bustd_pressure_avg10_ratio", [("kind", "some")], formatScaled(Int64(pressure.some.avg10), scale: 10_000))
        out.sample("bustd_pressure_avg10_ratio", [("kind", "full")], formatScaled(Int64(pressure.full.avg10), scale: 10_000))
    }
    let limits = gauges.thresholds
    out.family("bustd_threshold_ratio", "gauge", "The low-memory rule's thresholds, 0 to 1, by resource and signal.")
    for (resource, signal, value) in [
        ("memory", "SIGTERM", limits.memoryTerminatePercent), ("memory", "SIGKILL", limits.memoryKillPercent),
        ("swap", "SIGTERM", limits.swapTerminatePercent), ("swap", "SIGKILL", limits.swapKillPercent),
    ] {
        out.sample("bustd_threshold_ratio", [("resource", resource), ("signal", signal)], formatScaled(Int64(value), scale: 10_000))
    }
    if let memoryTerminate = limits.memoryTerminateKiB, let memoryKill = limits.memoryKillKiB,
        let swapTerminate = limits.swapTerminateKiB, let swapKill = limits.swapKillKiB
    {
        out.family("bustd_threshold_bytes", "gauge", "The low-memory rule's thresholds in bytes (the lower of -m and -M, -s and -S).")
        for (resource, signal, kiB) in [
            ("memory", "SIGTERM", memoryTerminate), ("memory", "SIGKILL", memoryKill),
            ("swap", "SIGTERM", swapTerminate), ("swap", "SIGKILL", swapKill),
        ] {
            out.sample("bustd_threshold_bytes", [("resource", resource), ("signal", signal)], "\(kiB * 1024)")
        }
    }
    out.gauge(
        "bustd_pressure_cutoff_ratio", "The pressure rule's PSI avg10 cutoff, 0 to 1.",
        formatScaled(Int64(limits.pressureCutoffPercent), scale: 10_000))
    if let resident = gauges.residentBytes {
        out.gauge("bustd_resident_memory_bytes", "bustd's own resident memory (RSS).", "\(resident)")
    }
    return out.text
}

/// Lines of the exposition format, escaped as it says.
struct MetricsText {
    var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(escapeMetricText(help, quote: false))\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            text += labels.map { "\($0.0)=\"\(escapeMetricText($0.1, quote: true))\"" }.joined(separator: ",")
            text += "}"
        }
        text += " \(value)\n"
    }

    mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        family(name, "counter", help)
        sample(name, [], "\(value)")
    }

    mutating func gauge(_ name: String, _ help: String, _ value: String) {
        family(name, "gauge", help)
        sample(name, [], value)
    }
}

/// HELP text escapes backslash and newline; label values also the double quote.
func escapeMetricText(_ text: String, quote: Bool) -> String {
    var out = ""
    for character in text.unicodeScalars {
        switch character {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\"" where quote: out += "\\\""
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}

/// value / scale in decimal, trailing zeros dropped: (632, 10000) → "0.0632".
func formatScaled(_ value: Int64, scale: Int64) -> String {
    let sign = value < 0 ? "-" : ""
    let magnitude = value < 0 ? -value : value
    var fraction = magnitude % scale
    var digits = 0
    var unit = scale
    while unit > 1 {
        unit /= 10
        digits += 1
    }
    guard fraction != 0 else { return "\(sign)\(magnitude / scale)" }
    while fraction % 10 == 0 {
        fraction /= 10
        digits -= 1
    }
    let fractionText = "\(fraction)"
    let zeros = String(repeating: "0", count: max(0, digits - fractionText.count))
    return "\(sign)\(magnitude / scale).\(zeros)\(fractionText)"
}

/// --metrics-file: the counters kept as events happen, and the file
/// written after every event and at least every intervalMs otherwise.
/// Nothing here runs while the option is off.
final class MetricsFile {
    /// The periodic write while nothing happens: node_exporter is usually
    /// scraped every 15 to 60 s.
    static let intervalMs: Int64 = 15_000
    /// Events in a burst (an emergency) share one write, at most this often.
    static let eventIntervalMs: Int64 = 1000
    let file: AtomicFile
    let startUnixMs = bustd_realtime_ms()
    private(set) var counters = MetricsCounters()
    private var lastWriteMs: Int64?
    private var changed = true
    private var failing = false
    private var writtenPeersDropped: UInt64 = 0
    /// /proc/self/statm, opened at the first write (after daemonizing,
    /// /proc/self is the final process).
    private var statm: PreadFile?

    init(file: AtomicFile) { self.file = file }

    func note(_ payload: Event.Payload) {
        counters.count(payload, realtimeMs: bustd_realtime_ms())
        changed = true
    }

    /// peersDropped: the event socket's count, which changes outside events.
    func isDue(nowMs: Int64, peersDropped: UInt64) -> Bool {
        if peersDropped != writtenPeersDropped { changed = true }
        guard let last = lastWriteMs else { return true }
        return nowMs - last >= (changed ? MetricsFile.eventIntervalMs : MetricsFile.intervalMs)
    }

    func write(_ gauges: MetricsGauges, nowMs: Int64) {
        var gauges = gauges
        gauges.startUnixMs = startUnixMs
        gauges.residentBytes = residentBytes()
        lastWriteMs = nowMs
        changed = false
        writtenPeersDropped = gauges.peersDropped
        let problem = file.replace(with: Array(renderMetrics(counters, gauges).utf8))
        // Said when it starts and stops failing, not every 15 s.
        if let problem, !failing {
            Log.warning(
                "cannot write the metrics file \(quotedArgument(file.path)): \(problem); retrying every \(MetricsFile.intervalMs / 1000) s")
        } else if problem == nil && failing {
            Log.notice("metrics file \(quotedArgument(file.path)) written again")
        }
        failing = problem != nil
    }

    private func residentBytes() -> Int64? {
        if statm == nil { statm = PreadFile(path: "/proc/self/statm", capacity: 256) }
        // "size resident shared ...", in pages.
        guard
            let pages = statm?.withContents({ bytes -> Int? in
                guard let space = bytes.firstIndex(of: 0x20) else { return nil }
                return parseLeadingInteger(bytes[(space + 1)...])
            })
        else { return nil }
        return Int64(pages) * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }
}

extension Monitor {
    /// The metrics file, when it is due (after an event or a dropped peer,
    /// or every 15 s).
    func writeMetricsIfDue(nowMs: Int64) {
        guard let metrics, metrics.isDue(nowMs: nowMs, peersDropped: events?.peersDropped ?? 0) else { return }
        let memory = readMemory()
        // The thresholds as they apply to these totals (-M/-S may be lower).
        let limits = eventThresholds(memory ?? MemoryStatus(totalKiB: 0, availableKiB: 0, swapTotalKiB: 0, swapFreeKiB: 0))
        let gauges = MetricsGauges(
            memory: memory, pressure: pressure?.read(), thresholds: limits,
            peersDropped: events?.peersDropped ?? 0)
        metrics.write(gauges, nowMs: nowMs)
    }
}
