import Shared

/// The journal's BUSTD_* fields of a record, taken from the event the
/// socket publishes for it: one source for what a kill, a warning or a
/// kernel OOM kill says, whether read from the socket or from journald.
extension Event.Payload {
    /// The kind of record a log line with this event is.
    var recordKind: RecordKind? {
        switch self {
        case .hello: nil
        case .kill: .kill
        case .killed: .killed
        case .killFailed: .killFailed
        case .warning: .warning
        case .kernelOOM: .kernelOOM
        }
    }

    func addFields(to fields: inout JournalFields) {
        switch self {
        case .hello:
            break
        case .kill(let kill):
            fields.addVictim(pid: kill.pid, uid: kill.uid, name: kill.processName)
            if let user = kill.userName { fields.add("BUSTD_USER", user) }
            if let exe = kill.executablePath { fields.add("BUSTD_EXE", exe) }
            fields.add("BUSTD_CMDLINE", kill.commandLine)
            if kill.commandLineTruncated { fields.add("BUSTD_CMDLINE_TRUNCATED", true) }
            if let cgroup = kill.cgroup { fields.add("BUSTD_CGROUP", cgroup) }
            if let unit = kill.unit { fields.add("BUSTD_UNIT", unit) }
            fields.add("BUSTD_RULE", kill.rule.rawValue)
            fields.add("BUSTD_SIGNAL", kill.signal)
            fields.add("BUSTD_DRY_RUN", kill.dryRun)
            fields.add("BUSTD_RSS_KIB", kill.rssKiB)
            fields.add("BUSTD_SWAP_KIB", kill.swapKiB)
            fields.add("BUSTD_OOM_SCORE", kill.oomScore)
            fields.add("BUSTD_OOM_SCORE_ADJ", kill.oomScoreAdj)
            fields.addFigures(kill.figures)
            fields.addThresholds(kill.thresholds)
        case .killed(let killed):
            fields.addVictim(pid: killed.pid, uid: killed.uid, name: killed.processName)
            fields.add("BUSTD_SIGNALS", killed.signals)
            fields.add("BUSTD_TIME_TO_EXIT_MS", killed.timeToExitMs)
            fields.add("BUSTD_RECOVERED_KIB", killed.recoveredKiB)
        case .killFailed(let failure):
            fields.addVictim(pid: failure.pid, uid: failure.uid, name: failure.processName)
            fields.add("BUSTD_REASON", failure.reason)
        case .warning(let warning):
            if let victim = warning.victim { fields.addVictim(pid: victim.pid, uid: victim.uid, name: victim.processName) }
            fields.addFigures(warning.figures)
            fields.addThresholds(warning.thresholds)
        case .kernelOOM(let oom):
            fields.add("BUSTD_COUNT", oom.count)
            fields.add("BUSTD_SOURCE", oom.source.rawValue)
            if let pid = oom.pid { fields.add("BUSTD_PID", pid) }
            if let uid = oom.uid { fields.add("BUSTD_UID", uid) }
            if let name = oom.processName { fields.add("BUSTD_NAME", name) }
        }
    }
}

extension JournalFields {
    mutating func addVictim(pid: Int32, uid: UInt32, name: [UInt8]) {
        add("BUSTD_PID", pid)
        add("BUSTD_UID", uid)
        add("BUSTD_NAME", name)
    }

    /// Percentages as decimals (4.2 is 4.2 %), sizes in KiB.
    mutating func addFigures(_ figures: Event.Figures) {
        add("BUSTD_AVAILABLE_PERCENT", hundredths: figures.availablePercent)
        if let kib = figures.availableKiB { add("BUSTD_AVAILABLE_KIB", kib) }
        add("BUSTD_SWAP_FREE_PERCENT", hundredths: figures.swapFreePercent)
        if let kib = figures.swapFreeKiB { add("BUSTD_SWAP_FREE_KIB", kib) }
        if let pressure = figures.pressurePercent { add("BUSTD_PRESSURE_PERCENT", hundredths: pressure) }
    }

    mutating func addThresholds(_ thresholds: Event.Thresholds) {
        add("BUSTD_MEMORY_TERMINATE_PERCENT", hundredths: thresholds.memoryTerminatePercent)
        add("BUSTD_MEMORY_KILL_PERCENT", hundredths: thresholds.memoryKillPercent)
        add("BUSTD_SWAP_TERMINATE_PERCENT", hundredths: thresholds.swapTerminatePercent)
        add("BUSTD_SWAP_KILL_PERCENT", hundredths: thresholds.swapKillPercent)
        add("BUSTD_PRESSURE_CUTOFF_PERCENT", hundredths: thresholds.pressureCutoffPercent)
        if let kib = thresholds.memoryTerminateKiB { add("BUSTD_MEMORY_TERMINATE_KIB", kib) }
        if let kib = thresholds.memoryKillKiB { add("BUSTD_MEMORY_KILL_KIB", kib) }
        if let kib = thresholds.swapTerminateKiB { add("BUSTD_SWAP_TERMINATE_KIB", kib) }
        if let kib = thresholds.swapKillKiB { add("BUSTD_SWAP_KILL_KIB", kib) }
    }
}
