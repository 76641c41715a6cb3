// The wire form of an event: one line of JSON, keys in a fixed order,
// header first. Optional fields are sent as null rather than left out, so
// every line of a type has the same keys (easy to read, easy to jq).
//
//   {"v":1,"type":"killed","seq":8,"instance":"…","time":1764180000123,
//    "pid":4242,"uid":1000,"name":"chrome","time_to_exit_ms":120,...}
//
// (shown on two lines here; on the wire it is one.)

/// Command lines are sent up to this many bytes, then cut and flagged
/// ("cmdline_truncated"): enough to recognise a program, and it bounds
/// the line whatever the victim put in its argv.
public let maxCommandLineBytes = 512

extension Event {
    /// The event as one line of JSON ending in "\n", with no other newline.
    public func encodeLine() -> String {
        var writer = JSONLineWriter()
        writer.integer("v", protocolVersion)
        writer.text("type", type.rawValue)
        writer.integer("seq", sequence)
        writer.text("instance", instance)
        writer.integer("time", timeMs)
        switch payload {
        case .hello(let hello): writer.write(hello)
        case .kill(let kill): writer.write(kill)
        case .killed(let killed): writer.write(killed)
        case .killFailed(let failure): writer.write(failure)
        case .warning(let warning): writer.write(warning)
        case .kernelOOM(let oom): writer.write(oom)
        }
        return writer.finishedLine()
    }
}

extension JSONLineWriter {
    fileprivate mutating func write(_ hello: Event.Hello) {
        text("daemon_version", hello.daemonVersion)
        text("scope", hello.scope.rawValue)
        integer("peer_uid", hello.peerUID)
        integer("oldest_seq", hello.retained?.lowerBound)
        integer("newest_seq", hello.retained?.upperBound)
    }

    fileprivate mutating func write(_ kill: Event.Kill) {
        integer("pid", kill.pid)
        integer("uid", kill.uid)
        text("user", kill.userName)
        text("name", bytes: kill.processName)
        let commandLine = utf8Prefix(kill.commandLine[...], maxBytes: maxCommandLineBytes)
        text("cmdline", bytes: commandLine.prefix)
        bool("cmdline_truncated", kill.commandLineTruncated || commandLine.wasCut)
        text("exe", bytes: kill.executablePath)
        integer("rss_kib", kill.rssKiB)
        integer("swap_kib", kill.swapKiB)
        integer("oom_score", kill.oomScore)
        integer("oom_score_adj", kill.oomScoreAdj)
        text("signal", kill.signal)
        text("rule", kill.rule.rawValue)
        write(kill.figures)
        write(kill.thresholds)
        bool("dry_run", kill.dryRun)
        text("cgroup", bytes: kill.cgroup)
        text("unit", bytes: kill.unit)
    }

    fileprivate mutating func write(_ killed: Event.Killed) {
        integer("pid", killed.pid)
        integer("uid", killed.uid)
        text("name", bytes: killed.processName)
        integer("time_to_exit_ms", killed.timeToExitMs)
        integer("recovered_kib", killed.recoveredKiB)
        text("signals", killed.signals)
    }

    fileprivate mutating func write(_ failure: Event.KillFailed) {
        integer("pid", failure.pid)
        integer("uid", failure.uid)
        text("name", bytes: failure.processName)
        text("reason", failure.reason)
    }

    fileprivate mutating func write(_ warning: Event.Warning) {
        write(warning.figures)
        write(warning.thresholds)
        integer("victim_pid", warning.victim?.pid)
        integer("victim_uid", warning.victim?.uid)
        text("victim_name", bytes: warning.victim?.processName)
    }

    fileprivate mutating func write(_ oom: Event.KernelOOM) {
        integer("count", oom.count)
        text("source", oom.source.rawValue)
        integer("pid", oom.pid)
        text("name", bytes: oom.processName)
        integer("uid", oom.uid)
    }

    mutating func write(_ figures: Event.Figures) {
        hundredths("available_percent", figures.availablePercent)
        hundredths("swap_free_percent", figures.swapFreePercent)
        hundredths("pressure_percent", figures.pressurePercent)
        integer("available_kib", figures.availableKiB)
        integer("swap_free_kib", figures.swapFreeKiB)
    }

    mutating func write(_ thresholds: Event.Thresholds) {
        hundredths("memory_terminate_percent", thresholds.memoryTerminatePercent)
        hundredths("memory_kill_percent", thresholds.memoryKillPercent)
        hundredths("swap_terminate_percent", thresholds.swapTerminatePercent)
        hundredths("swap_kill_percent", thresholds.swapKillPercent)
        hundredths("pressure_cutoff_percent", thresholds.pressureCutoffPercent)
        integer("memory_terminate_kib", thresholds.memoryTerminateKiB)
        integer("memory_kill_kib", thresholds.memoryKillKiB)
        integer("swap_terminate_kib", thresholds.swapTerminateKiB)
        integer("swap_kill_kib", thresholds.swapKillKiB)
    }
}
