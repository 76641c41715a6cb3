import CBustd
#if !hasFeature(Embedded)
import Glibc
#endif
import Shared

/// The main loop: look at memory, decide, act, sleep.
///
/// While memory is plentiful a wake-up costs two syscalls: poll(2) (the
/// sleep, which a PSI trigger cuts short) and sysinfo(2). /proc/meminfo
/// and the PSI averages are read only when free RAM is near a threshold.
final class Monitor {
    let options: Options
    let config: RuleConfig
    let memoryReader: MemoryInfoReader
    let pressure: PressureSource?
    let scope: CgroupScope?
    let scanner: ProcessScanner
    let killer: Killer
    /// The event socket, when there is one.
    var events: EventServer?
    /// The kernel's OOM kill counter, when /proc/vmstat has one.
    var kernelOOM: KernelOOMWatcher?

    private var tracker = PressureTracker()
    private var forecast = CrossingForecast()
    private var cooldownUntilMs: Int64 = 0
    private var lastNoVictimLogMs: Int64?
    private var memoryReadFailed = false
    /// Whether this cooldown was already mentioned (verbose logs only).
    private var cooldownLogged = false
    private var lastWarningMs: Int64?
    /// How long to back off when no process can be killed.
    static let noVictimBackoffMs: Int64 = 5000
    /// At most one low-memory warning this often.
    static let warningIntervalMs: Int64 = 60_000

    init(options: Options, memoryReader: MemoryInfoReader, pressure: PressureSource?,
         scope: CgroupScope?, scanner: ProcessScanner, killer: Killer) {
        self.options = options
        self.config = RuleConfig(options)
        self.memoryReader = memoryReader
        self.pressure = pressure
        self.scope = scope
        self.scanner = scanner
        self.killer = killer
    }

    func run() {
        while bustd_stop_requested() == 0 {
            let interval = step(nowMs: bustd_monotonic_ms())
            sleep(milliseconds: interval)
        }
    }

    /// One look at memory, and an action if a rule fires. Returns how long
    /// to sleep before the next look.
    func step(nowMs: Int64) -> Int {
        if scope == nil, let quick = QuickMemoryLook.take(), quick.freePercent > config.quickLookCeiling {
            tracker.update(pressure: nil, cutoff: config.pressureCutoff, nowMs: nowMs)
            forecast.reset()  // sysinfo's free RAM is not MemAvailable
            let ram = PollInterval.headroomKiB(freeKiB: Int64(quick.freeRAMBytes / 1024),
                                               totalKiB: Int64(quick.totalRAMBytes / 1024), threshold: config.memory.terminate)
            let swap = PollInterval.headroomKiB(freeKiB: Int64(quick.freeSwapBytes / 1024),
                                                totalKiB: Int64(quick.totalSwapBytes / 1024), threshold: config.swap.terminate)
            let interval = PollInterval.milliseconds(ramHeadroomKiB: ram, swapHeadroomKiB: swap, underPressure: false)
            if kernelOOM?.isDue(nowMs: nowMs, nextLookInMs: interval) == true { checkKernelOOM(nowMs: nowMs) }
            return interval
        }
        checkKernelOOM(nowMs: nowMs)
        guard let status = readMemory() else { return 1000 }
        let watched = pressure?.read()?.line(config.pressureMetric)
        let pressureValue = watched?.avg10
        tracker.update(pressure: pressureValue, stallTotalMicroseconds: watched?.totalMicroseconds,
                       cutoff: config.pressureCutoff, nowMs: nowMs)
        let decision = decide(memory: status, pressure: pressureValue,
                              pressureHeldMs: tracker.heldMs(nowMs: nowMs), config: config)
        if decision.urgency != .none {
            if nowMs >= cooldownUntilMs {
                cooldownLogged = false
                act(on: decision, memory: status, pressure: pressureValue)
            } else if !cooldownLogged {
                Log.debug("\(decision.explanation); cooling down for \(cooldownUntilMs - nowMs) ms more")
                cooldownLogged = true
            }
        } else if isApproachingLowMemory(status, config: config),
                  lastWarningMs.map({ nowMs - $0 >= Monitor.warningIntervalMs }) ?? true {
            warn(memory: status, pressure: pressureValue)
            lastWarningMs = nowMs
        }
        let ram = PollInterval.headroomKiB(freeKiB: status.availableKiB, totalKiB: status.totalKiB, threshold: config.memory.terminate)
        let swap = PollInterval.headroomKiB(freeKiB: status.swapFreeKiB, totalKiB: status.swapTotalKiB, threshold: config.swap.terminate)
        let crossingMs = forecast.millisecondsUntilCrossing(nowMs: nowMs, ramHeadroomKiB: ram, swapHeadroomKiB: swap)
        return PollInterval.milliseconds(ramHeadroomKiB: ram, swapHeadroomKiB: swap,
                                         underPressure: tracker.aboveSinceMs != nil, forecastMs: crossingMs)
    }

    /// The machine's figures, or the scope's where it has a memory limit.
    func readMemory() -> MemoryStatus? {
        guard let info = memoryReader.read() else {
            if !memoryReadFailed { Log.error("cannot read /proc/meminfo: \(errorText(bustd_errno()))") }
            memoryReadFailed = true
            return nil
        }
        memoryReadFailed = false
        let machine = MemoryStatus(info)
        return scope?.memoryStatus(machine: machine) ?? machine
    }

    private func act(on decision: Decision, memory before: MemoryStatus, pressure pressureValue: Int?) {
        let scan = scanCandidates()
        Log.debug("scanned \(scan.scanned) processes in \(scan.elapsedMs) ms (\(scan.vanished) vanished mid-scan)")
        guard let victim = scan.victim else {
            let now = bustd_monotonic_ms()
            if lastNoVictimLogMs.map({ now - $0 >= 60_000 }) ?? true {
                Log.warning("\(decision.explanation), but no process can be killed (\(scan.scanned) looked at; all protected, exempt or gone); retrying in \(Monitor.noVictimBackoffMs / 1000) s")
                lastNoVictimLogMs = now
            }
            cooldownUntilMs = now + Monitor.noVictimBackoffMs
            return
        }
        lastNoVictimLogMs = nil
        let details = VictimDetails.read(victim.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
        let description = describe(victim, details)
        let why = "rule \(decision.rule?.name ?? "?"): \(decision.explanation)"
        let group = killer.processGroup(for: victim).map { " and its process group \($0)" } ?? ""
        if options.dryRun {
            Log.notice("dry run: would kill \(description)\(group); \(why); would send \(decision.urgency.signalName)")
            events?.publish(.kill(killEvent(victim, details, decision: decision, memory: before, pressure: pressureValue, dryRun: true)))
            cooldownUntilMs = bustd_monotonic_ms() + Int64(options.cooldownMs)
            return
        }
        Log.notice("killing \(description)\(group); \(why); sending \(decision.urgency.signalName)")
        let report = killer.kill(victim, urgency: decision.urgency, afterFirstSignal: {
            events?.publish(.kill(killEvent(victim, details, decision: decision, memory: before, pressure: pressureValue, dryRun: false)))
        }, memoryAtKillLevel: {
            guard let now = readMemory() else { return false }
            return decide(memory: now, pressure: nil, pressureHeldMs: 0, config: config).urgency == .kill
        })
        let after = readMemory()
        let recovered = after.map { " memory recovered \(formatKiB($0.availableKiB - before.availableKiB)) (available \(formatHundredths(before.availablePercent))% -> \(formatHundredths($0.availablePercent))%)" } ?? ""
        let released = report.memoryReleased ? ", reaped early with process_mrelease" : ""
        let recoveredKiB = after.map { $0.availableKiB - before.availableKiB } ?? 0
        switch report.outcome {
        case .exited(let ms):
            tracker.noteKill(nowMs: bustd_monotonic_ms())
            Log.notice("pid \(victim.pid) exited \(ms) ms after \(report.signals)\(released);\(recovered)")
            events?.publish(.killed(Event.Killed(pid: victim.pid, uid: victim.uid, processName: victim.stat.name,
                                                 timeToExitMs: ms, recoveredKiB: recoveredKiB, signals: report.signals)))
        case .stillAlive(let ms):
            tracker.noteKill(nowMs: bustd_monotonic_ms())
            Log.error("pid \(victim.pid) still alive \(ms) ms after SIGKILL (stuck in the kernel?)\(released);\(recovered)")
            events?.publish(.killFailed(Event.KillFailed(pid: victim.pid, uid: victim.uid, processName: victim.stat.name,
                                                         reason: "still alive \(ms) ms after SIGKILL")))
        case .vanished:
            Log.info("pid \(victim.pid) exited before it was signalled; nothing killed")
        case .failed(let why):
            Log.error("could not kill pid \(victim.pid): \(why)")
            events?.publish(.killFailed(Event.KillFailed(pid: victim.pid, uid: victim.uid, processName: victim.stat.name, reason: why)))
        }
        // Figures lag a kill: wait, then re-measure before another victim.
        cooldownUntilMs = bustd_monotonic_ms() + Int64(options.cooldownMs)
    }

    /// Scans the scope's processes, or every process without a scope.
    private func scanCandidates() -> ScanResult {
        scanner.scan(scope.map { .list($0.processIDs()) } ?? .all)
    }

    /// "pid 4242 (uid 1000) "firefox" exe "/usr/bin/firefox" cmdline "…": RSS …"
    private func describe(_ victim: Candidate, _ details: VictimDetails) -> String {
        let exe = details.executable.map { " exe " + quoted($0) } ?? ""
        return "pid \(victim.pid) (uid \(victim.uid)) \(quoted(victim.stat.name))\(exe) cmdline \(quoted(details.commandLine)): RSS \(formatKiB(victim.residentKiB)), oom_score \(victim.oomScore), oom_score_adj \(victim.oomScoreAdj)"
    }

    /// Command lines are cut to this many bytes in logs.
    static let commandLineLimit = 1024

    /// Sleeps until the interval is over or a PSI trigger fires, serving
    /// the event socket meanwhile.
    private func sleep(milliseconds: Int) {
        let deadline = bustd_monotonic_ms() + Int64(milliseconds)
        var descriptors: [pollfd] = []
        while bustd_stop_requested() == 0 {
            let remaining = deadline - bustd_monotonic_ms()
            if remaining <= 0 { return }
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: pressure?.triggerFD ?? -1, events: Int16(POLLPRI), revents: 0))
            events?.appendPollDescriptors(to: &descriptors)
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(remaining))
            if ready <= 0 { return }  // the interval is over, or a signal
            events?.handle(descriptors[1...])
            let trigger = descriptors[0].revents
            if trigger & Int16(POLLERR) != 0 {
                Log.warning("the PSI trigger stopped working (its cgroup was removed?); continuing on the timer")
                pressure?.disarmTrigger()
                return
            }
            if trigger & Int16(POLLPRI) != 0 {
                Log.debug("PSI trigger: memory stalls began")
                return
            }
        }
    }

    // MARK: Events

    private func killEvent(_ victim: Candidate, _ details: VictimDetails, decision: Decision, memory: MemoryStatus,
                           pressure: Int?, dryRun: Bool) -> Event.Kill {
        Event.Kill(
            pid: victim.pid, uid: victim.uid, userName: UserDatabase.userName(uid: victim.uid),
            processName: victim.stat.name, commandLine: details.commandLine,
            commandLineTruncated: details.commandLineTruncated, executablePath: details.executable,
            rssKiB: victim.residentKiB, swapKiB: details.swapKiB,
            oomScore: victim.oomScore, oomScoreAdj: victim.oomScoreAdj,
            signal: decision.urgency.signalName, rule: decision.rule == .pressure ? .pressure : .lowMemory,
            figures: figures(memory, pressure: pressure), thresholds: eventThresholds, dryRun: dryRun)
    }

    private func figures(_ memory: MemoryStatus, pressure: Int?) -> Event.Figures {
        Event.Figures(availablePercent: memory.availablePercent, swapFreePercent: memory.swapFreePercent, pressurePercent: pressure)
    }

    private var eventThresholds: Event.Thresholds {
        Event.Thresholds(memoryTerminatePercent: config.memory.terminate, memoryKillPercent: config.memory.kill,
                         swapTerminatePercent: config.swap.terminate, swapKillPercent: config.swap.kill,
                         pressureCutoffPercent: config.pressureCutoff)
    }

    /// Memory nears the low-memory rule: say so (log and event), with the
    /// process that would be chosen, at most once a minute.
    private func warn(memory: MemoryStatus, pressure: Int?) {
        let scan = scanCandidates()
        let victim = scan.victim.map { Event.Victim(pid: $0.pid, uid: $0.uid, processName: $0.stat.name) }
        let warning = Event.Warning(figures: figures(memory, pressure: pressure), thresholds: eventThresholds, victim: victim)
        var waits: [String] = []
        if warning.awaits.memory { waits.append("available memory drops to \(formatHundredths(config.memory.terminate))%") }
        if warning.awaits.swap { waits.append("free swap drops to \(formatHundredths(config.swap.terminate))%") }
        let when = waits.isEmpty ? "" : " if " + waits.joined(separator: " and ") + ","
        let next = scan.victim.map { ";\(when) pid \($0.pid) \(quoted($0.stat.name)) would be killed first" } ?? ""
        Log.notice("memory is getting low: \(memory.summary)\(next)")
        events?.publish(.warning(warning))
    }

    private func checkKernelOOM(nowMs: Int64) {
        guard let count = kernelOOM?.newKills(nowMs: nowMs), count > 0 else { return }
        Log.warning("the kernel's OOM killer killed \(count) process\(count == 1 ? "" : "es") (/proc/vmstat oom_kill)")
        events?.publish(.kernelOOM(Event.KernelOOM(count: count, source: .vmstat)))
    }
}
