// Reading an event line back into the model (the inverse of
// EventEncoding.swift). Unknown keys are ignored so a newer daemon can add
// fields; an unknown event type or a newer protocol version is an error,
// since nothing can be guessed about its meaning.

/// Decodes one line from the event socket (with or without its "\n").
public func decodeEvent(line: [UInt8]) throws(EventDecodingError) -> Event {
    let fields = try LineFields(line: line)
    let typeName = try fields.bytes("type")
    guard let type = EventType(rawValue: String(decoding: typeName, as: UTF8.self)) else {
        throw EventDecodingError(.unknownType, "unknown event type " + quoted(typeName))
    }
    let sequence: UInt64 = try fields.integer("seq")
    let instance = try fields.string("instance")
    let timeMs: Int64 = try fields.integer("time")
    let payload: Event.Payload
    switch type {
    case .hello: payload = .hello(try Event.Hello(fields))
    case .kill: payload = .kill(try Event.Kill(fields))
    case .killed: payload = .killed(try Event.Killed(fields))
    case .killFailed: payload = .killFailed(try Event.KillFailed(fields))
    case .warning: payload = .warning(try Event.Warning(fields))
    case .kernelOOM: payload = .kernelOOM(try Event.KernelOOM(fields))
    }
    return Event(sequence: sequence, instance: instance, timeMs: timeMs, payload: payload)
}

public func decodeEvent(line: String) throws(EventDecodingError) -> Event {
    try decodeEvent(line: Array(line.utf8))
}

extension Event.Hello {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        let oldest: UInt64? = try fields.optionalInteger("oldest_seq")
        let newest: UInt64? = try fields.optionalInteger("newest_seq")
        let retained: ClosedRange<UInt64>?
        switch (oldest, newest) {
        case (nil, nil): retained = nil
        case (let oldest?, let newest?) where oldest <= newest: retained = oldest...newest
        default: throw EventDecodingError(.invalidValue, "oldest_seq and newest_seq must be both null or a range")
        }
        try self.init(
            daemonVersion: fields.string("daemon_version"), scope: fields.choice("scope"),
            peerUID: fields.integer("peer_uid"), retained: retained)
    }
}

extension Event.Kill {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            pid: fields.integer("pid"), uid: fields.integer("uid"), userName: fields.optionalString("user"),
            processName: fields.bytes("name"), commandLine: fields.bytes("cmdline"),
            commandLineTruncated: fields.bool("cmdline_truncated"), executablePath: fields.optionalBytes("exe"),
            rssKiB: fields.integer("rss_kib"), swapKiB: fields.integer("swap_kib"),
            oomScore: fields.integer("oom_score"), oomScoreAdj: fields.integer("oom_score_adj"),
            signal: fields.string("signal"), rule: fields.choice("rule"),
            figures: Event.Figures(fields), thresholds: Event.Thresholds(fields), dryRun: fields.bool("dry_run"),
            cgroup: fields.optionalBytes("cgroup"), unit: fields.optionalBytes("unit"))
    }
}

extension Event.Killed {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            pid: fields.integer("pid"), uid: fields.integer("uid"), processName: fields.bytes("name"),
            timeToExitMs: fields.integer("time_to_exit_ms"), recoveredKiB: fields.integer("recovered_kib"),
            signals: fields.string("signals"))
    }
}

extension Event.KillFailed {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            pid: fields.integer("pid"), uid: fields.integer("uid"), processName: fields.bytes("name"),
            reason: fields.string("reason"))
    }
}

extension Event.Warning {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        let pid: Int32? = try fields.optionalInteger("victim_pid")
        let uid: UInt32? = try fields.optionalInteger("victim_uid")
        let name = try fields.optionalBytes("victim_name")
        let victim: Event.Victim?
        switch (pid, uid, name) {
        case (nil, nil, nil): victim = nil
        case (let pid?, let uid?, let name?): victim = Event.Victim(pid: pid, uid: uid, processName: name)
        default: throw EventDecodingError(.invalidValue, "victim_pid, victim_uid and victim_name must be all null or all set")
        }
        try self.init(figures: Event.Figures(fields), thresholds: Event.Thresholds(fields), victim: victim)
    }
}

extension Event.KernelOOM {
    fileprivate init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            count: fields.integer("count"), source: fields.choice("source"), pid: fields.optionalInteger("pid"),
            processName: fields.optionalBytes("name"), uid: fields.optionalInteger("uid"))
    }
}

extension Event.Figures {
    init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            availablePercent: fields.hundredths("available_percent"),
            swapFreePercent: fields.hundredths("swap_free_percent"),
            pressurePercent: fields.optionalHundredths("pressure_percent"),
            availableKiB: fields.optionalInteger("available_kib"), swapFreeKiB: fields.optionalInteger("swap_free_kib"))
    }
}

extension Event.Thresholds {
    init(_ fields: LineFields) throws(EventDecodingError) {
        try self.init(
            memoryTerminatePercent: fields.hundredths("memory_terminate_percent"),
            memoryKillPercent: fields.hundredths("memory_kill_percent"),
            swapTerminatePercent: fields.hundredths("swap_terminate_percent"),
            swapKillPercent: fields.hundredths("swap_kill_percent"),
            pressureCutoffPercent: fields.hundredths("pressure_cutoff_percent"),
            memoryTerminateKiB: fields.optionalInteger("memory_terminate_kib"),
            memoryKillKiB: fields.optionalInteger("memory_kill_kib"),
            swapTerminateKiB: fields.optionalInteger("swap_terminate_kib"),
            swapKillKiB: fields.optionalInteger("swap_kill_kib"))
    }
}
