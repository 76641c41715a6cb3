// The daemon's answer to a status request (StatusRequest.swift): what it
// sees now, as one JSON line in the event format's conventions (integer
// hundredths sent as decimals, raw process names escaped, null for what is
// unknown or not the asker's to see):
//
//   {"v":1,"type":"status","instance":"…","time":1764180000123,
//    "daemon_version":"0.2.0","uptime_ms":3600000,"scope":"own-uid",
//    "peer_uid":1000,"dry_run":false,"available_percent":63.2,...,
//    "candidate_pid":null,...,"kills":0,"warnings":0,"kernel_oom_kills":0,...}
//
// (shown on several lines here; on the wire it is one.)

public struct DaemonStatus: Equatable, Sendable {
    public var instance: String
    public var timeMs: Int64
    public var daemonVersion: String
    public var uptimeMs: Int64
    /// What the asking peer sees (as in its hello), and its uid.
    public var scope: Event.Scope
    public var peerUID: UInt32
    public var dryRun: Bool
    /// Available memory and free swap now, against the thresholds as they
    /// apply (-m/-M, -s/-S combined); pressureFigures' avg10 of the watched
    /// metric is figures.pressurePercent.
    public var figures: Event.Figures
    public var totalKiB: Int64
    public var swapTotalKiB: Int64
    public var thresholds: Event.Thresholds
    /// "some" or "full" (--psi-metric).
    public var pressureMetric: String
    /// The sleep between looks at the latest look.
    public var pollIntervalMs: Int64
    /// When memory is near a threshold: the forecast crossing, in ms from
    /// the latest look. nil when nothing is forecast.
    public var forecastMs: Int64?
    /// The process that would go first; nil when there is none, or when it
    /// is another user's and the asker sees only its own (visible(to:)).
    public var candidate: Candidate?
    /// Since the daemon started (kills include a dry run's would-be kills).
    /// Warnings and kernel OOM kills are every peer's to see, as their
    /// events are; kills, and the last kill, only those it may see: for a
    /// peer that sees only its own processes, the kills of its processes.
    public var kills: UInt64
    public var warnings: UInt64
    public var kernelOOMKills: UInt64
    public var lastKillTimeMs: Int64?
    public var lastKill: LastKill?

    public struct Candidate: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var processName: [UInt8]
        public var rssKiB: Int64

        public init(pid: Int32, uid: UInt32, processName: [UInt8], rssKiB: Int64) {
            self.pid = pid
            self.uid = uid
            self.processName = processName
            self.rssKiB = rssKiB
        }
    }

    public struct LastKill: Equatable, Sendable {
        public var pid: Int32
        public var uid: UInt32
        public var processName: [UInt8]
        public var signal: String

        public init(pid: Int32, uid: UInt32, processName: [UInt8], signal: String) {
            self.pid = pid
            self.uid = uid
            self.processName = processName
            self.signal = signal
        }
    }

    public init(
        instance: String, timeMs: Int64, daemonVersion: String, uptimeMs: Int64, scope: Event.Scope,
        peerUID: UInt32, dryRun: Bool, figures: Event.Figures, totalKiB: Int64, swapTotalKiB: Int64,
        thresholds: Event.Thresholds, pressureMetric: String, pollIntervalMs: Int64, forecastMs: Int64?,
        candidate: Candidate?, kills: UInt64, warnings: UInt64, kernelOOMKills: UInt64,
        lastKillTimeMs: Int64?, lastKill: LastKill?
    ) {
        self.instance = instance
        self.timeMs = timeMs
        self.daemonVersion = daemonVersion
        self.uptimeMs = uptimeMs
        self.scope = scope
        self.peerUID = peerUID
        self.dryRun = dryRun
        self.figures = figures
        self.totalKiB = totalKiB
        self.swapTotalKiB = swapTotalKiB
        self.thresholds = thresholds
        self.pressureMetric = pressureMetric
        self.pollIntervalMs = pollIntervalMs
        self.forecastMs = forecastMs
        self.candidate = candidate
        self.kills = kills
        self.warnings = warnings
        self.kernelOOMKills = kernelOOMKills
        self.lastKillTimeMs = lastKillTimeMs
        self.lastKill = lastKill
    }

    /// Kills of one user's processes: what a peer that sees only its own
    /// is told instead of the totals.
    public struct UserKills: Equatable, Sendable {
        public var count: UInt64
        public var lastTimeMs: Int64?
        public var last: LastKill?

        public init(count: UInt64 = 0, lastTimeMs: Int64? = nil, last: LastKill? = nil) {
            self.count = count
            self.lastTimeMs = lastTimeMs
            self.last = last
        }
    }

    /// The status as a peer may see it: the socket's privacy rule. A peer
    /// that sees all (root, --socket-group) gets everything; any other gets
    /// the figures, the public counts, its own user's kills (`own`), and
    /// the candidate only if it is its user's. As with event numbers, it
    /// learns nothing of how many of other users' processes were killed.
    public func visible(to peerUID: UInt32, seesAll: Bool, own: UserKills) -> DaemonStatus {
        var copy = self
        copy.peerUID = peerUID
        copy.scope = seesAll ? .all : .ownUID
        guard !seesAll else { return copy }
        if let candidate, candidate.uid != peerUID { copy.candidate = nil }
        copy.kills = own.count
        copy.lastKillTimeMs = own.lastTimeMs
        copy.lastKill = own.last.flatMap { $0.uid == peerUID ? $0 : nil }
        return copy
    }

    /// The status as one line of JSON ending in "\n".
    public func encodeLine() -> String {
        var writer = JSONLineWriter()
        writer.integer("v", protocolVersion)
        writer.text("type", "status")
        writer.text("instance", instance)
        writer.integer("time", timeMs)
        writer.text("daemon_version", daemonVersion)
        writer.integer("uptime_ms", uptimeMs)
        writer.text("scope", scope.rawValue)
        writer.integer("peer_uid", peerUID)
        writer.bool("dry_run", dryRun)
        writer.write(figures)
        writer.integer("total_kib", totalKiB)
        writer.integer("swap_total_kib", swapTotalKiB)
        writer.write(thresholds)
        writer.text("pressure_metric", pressureMetric)
        writer.integer("poll_interval_ms", pollIntervalMs)
        writer.integer("forecast_ms", forecastMs)
        writer.integer("candidate_pid", candidate?.pid)
        writer.integer("candidate_uid", candidate?.uid)
        writer.text("candidate_name", bytes: candidate?.processName)
        writer.integer("candidate_rss_kib", candidate?.rssKiB)
        writer.integer("kills", kills)
        writer.integer("warnings", warnings)
        writer.integer("kernel_oom_kills", kernelOOMKills)
        writer.integer("last_kill_time", lastKillTimeMs)
        writer.integer("last_kill_pid", lastKill?.pid)
        writer.integer("last_kill_uid", lastKill?.uid)
        writer.text("last_kill_name", bytes: lastKill?.processName)
        writer.text("last_kill_signal", lastKill?.signal)
        return writer.finishedLine()
    }
}

/// A line a status client may read: the status, a refusal, or anything
/// else on the socket (the hello, events), which it skips.
public enum StatusReply: Equatable, Sendable {
    case status(DaemonStatus)
    case refused(StatusRefusal)
    case other
}

/// Decodes a line read after a status request.
public func decodeStatusReply(line: [UInt8]) throws(EventDecodingError) -> StatusReply {
    let fields = try LineFields(line: line)
    let type = try fields.bytes("type")
    if type == Array("error".utf8) {
        guard try fields.optionalBytes("request") == Array("status".utf8) else { return .other }
        return .refused(
            try StatusRefusal(reason: fields.string("reason"), retryAfterMs: fields.optionalInteger("retry_after_ms") ?? 0))
    }
    guard type == Array("status".utf8) else { return .other }
    let candidatePID: Int32? = try fields.optionalInteger("candidate_pid")
    let candidateUID: UInt32? = try fields.optionalInteger("candidate_uid")
    let candidateName = try fields.optionalBytes("candidate_name")
    let candidateRSS: Int64? = try fields.optionalInteger("candidate_rss_kib")
    var candidate: DaemonStatus.Candidate?
    switch (candidatePID, candidateUID, candidateName, candidateRSS) {
    case (nil, nil, nil, nil): candidate = nil
    case (let pid?, let uid?, let name?, let rss?): candidate = .init(pid: pid, uid: uid, processName: name, rssKiB: rss)
    default: throw EventDecodingError(.invalidValue, "the candidate_ fields must be all null or all set")
    }
    let killPID: Int32? = try fields.optionalInteger("last_kill_pid")
    let killUID: UInt32? = try fields.optionalInteger("last_kill_uid")
    let killName = try fields.optionalBytes("last_kill_name")
    let killSignal = try fields.optionalString("last_kill_signal")
    var lastKill: DaemonStatus.LastKill?
    switch (killPID, killUID, killName, killSignal) {
    case (nil, nil, nil, nil): lastKill = nil
    case (let pid?, let uid?, let name?, let signal?): lastKill = .init(pid: pid, uid: uid, processName: name, signal: signal)
    default: throw EventDecodingError(.invalidValue, "the last_kill_ process fields must be all null or all set")
    }
    return .status(
        try DaemonStatus(
            instance: fields.string("instance"), timeMs: fields.integer("time"),
            daemonVersion: fields.string("daemon_version"), uptimeMs: fields.integer("uptime_ms"),
            scope: fields.choice("scope"), peerUID: fields.integer("peer_uid"), dryRun: fields.bool("dry_run"),
            figures: Event.Figures(fields), totalKiB: fields.integer("total_kib"),
            swapTotalKiB: fields.integer("swap_total_kib"), thresholds: Event.Thresholds(fields),
            pressureMetric: fields.string("pressure_metric"), pollIntervalMs: fields.integer("poll_interval_ms"),
            forecastMs: fields.optionalInteger("forecast_ms"), candidate: candidate, kills: fields.integer("kills"),
            warnings: fields.integer("warnings"), kernelOOMKills: fields.integer("kernel_oom_kills"),
            lastKillTimeMs: fields.optionalInteger("last_kill_time"), lastKill: lastKill))
}
