import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// The main loop: look at memory, decide, act, sleep.
///
/// While memory is plentiful a wake-up costs two syscalls: poll(2) (the
/// sleep, which a PSI trigger cuts short) and sysinfo(2). /proc/meminfo
/// and the PSI averages are read only when free RAM is near a threshold.
/// Near the thresholds the candidates are scanned ahead (Shortlist), so
/// that the decision itself reads a few files, not the whole of /proc.
/// After a kill, KillPacing says when the next victim may be chosen.
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
    /// --metrics-file, when given.
    var metrics: MetricsFile?
    /// systemd's STATUS= line, when systemd listens ($NOTIFY_SOCKET).
    var serviceStatus: ServiceStatus?
    /// --pre-kill and --post-kill: nil when neither is given.
    var hooks: Hooks?
    /// -r: nil when off (the default), so the idle loop has nothing to do for it.
    private var report: PeriodicReport?
    /// Victims' user names for events: userdb, then the files; remembered
    /// a while, looked up only when an event is composed after the signal.
    private let userNames = UserNameCache()
    /// Counts and the last kill for `bustd status` (answerStatus).
    private var statusBook = StatusBook(startedMs: bustd_monotonic_ms())

    /// How far MemAvailable can sit below sysinfo's free RAM.
    private var freeRAMReserve: FreeRAMReserve
    private var tracker = PressureTracker()
    private var forecast = CrossingForecast()
    private var pacing: KillPacing
    private var shortlist = Shortlist()
    private var readiness = KillReadiness()
    /// The scan ahead in progress, a slice per look.
    private var scanAhead: ProcessScanner.Pass?
    /// Time a look near the thresholds spends on the scan ahead.
    static let scanSliceMs: Int64 = 5
    /// While a scan ahead is in progress, looks come at least this often.
    static let scanLookMs = 20
    /// Victims left dying at the SIGKILL threshold, until they exit.
    private var dying: [DyingRecord] = []
    /// The latest forecast of the crossing, in ms from its look.
    private var lastForecastMs: Int64?
    private var lastNoVictimLogMs: Int64?
    private var memoryReadFailed = false
    /// Where a look spends its time (verbose log of slow looks).
    private var phases = PhaseClock()
    static let slowLookMs: Int64 = 20
    /// The sleep's poll set, kept so that a sleep allocates nothing.
    private var descriptors: [pollfd] = []
    /// The reason of the wait last logged (verbose), so a wait is said once.
    private var loggedWait: String?
    private var lastWarningMs: Int64?
    /// "No process can be killed" is logged at most this often.
    static let noVictimLogIntervalMs: Int64 = 60_000
    /// At most one low-memory warning this often.
    static let warningIntervalMs: Int64 = 60_000
    /// Memory forecast to cross a threshold within this is near: the
    /// shortlist is kept fresh.
    static let nearForecastMs: Int64 = 2000

    /// A victim left dying, with what its exit will be reported with.
    private struct DyingRecord {
        var victim: DyingVictim
        var uid: UInt32
        var name: [UInt8]
        var availableBeforeKiB: Int64
        var heldKiB: Int64
    }

    init(
        options: Options, memoryReader: MemoryInfoReader, pressure: PressureSource?,
        scope: CgroupScope?, scanner: ProcessScanner, killer: Killer
    ) {
        self.options = options
        self.config = RuleConfig(options)
        self.memoryReader = memoryReader
        self.pressure = pressure
        self.scope = scope
        self.scanner = scanner
        self.killer = killer
        self.pacing = KillPacing(cooldownMs: options.cooldownMs)
        self.freeRAMReserve = FreeRAMReserve.read(totalKiB: memoryReader.read()?.totalKiB ?? 0)
        if options.reportIntervalMs > 0 {
            report = PeriodicReport(intervalMs: options.reportIntervalMs, nowMs: bustd_monotonic_ms())
        }
        // Allocated now, before start-up's pages are dropped: the idle loop
        // itself then never calls malloc, whose code would stay resident.
        descriptors.reserveCapacity(8)
    }

    func run() {
        while bustd_stop_requested() == 0 {
            let started = bustd_monotonic_ms()
            phases.start(started)
            var interval = step(nowMs: started)
            if metrics != nil { writeMetricsIfDue(nowMs: bustd_monotonic_ms()) }
            if report != nil { interval = writeReportIfDue(interval: interval) }
            statusBook.pollIntervalMs = interval
            if let hooks, hooks.isRunning { hooks.service(nowMs: bustd_monotonic_ms()) }
            // A slow look is worth a trace: where did the time go?
            if Log.verbose, let slow = phases.describeIfSlower(than: Monitor.slowLookMs, nowMs: bustd_monotonic_ms()) {
                Log.debug("that look took \(slow)")
            }
            sleep(milliseconds: interval)
        }
        for record in dying { closeMembers(record.victim) }
        hooks?.stop()
    }

    /// -r: the report line when it is due; returns the sleep, shortened
    /// to end when the next report is due.
    private func writeReportIfDue(interval: Int) -> Int {
        let now = bustd_monotonic_ms()
        if report?.take(nowMs: now) == true, let memory = readMemory() {
            let figures = pressure?.read()
            Log.record(.info, .pressure, PeriodicReport.line(memory, pressure: figures, metric: config.pressureMetric)) {
                $0.addFigures(self.figures(memory, pressure: figures?.line(config.pressureMetric).avg10))
                $0.addThresholds(eventThresholds(memory))
                if let figures {
                    $0.add("BUSTD_PRESSURE_SOME_AVG10", hundredths: figures.some.avg10)
                    $0.add("BUSTD_PRESSURE_FULL_AVG10", hundredths: figures.full.avg10)
                }
            }
        }
        return PollInterval.milliseconds(interval, reportDueInMs: report?.dueInMs(nowMs: now))
    }

    private func closeMembers(_ victim: DyingVictim) {
        for member in victim.members where member.pidfd >= 0 { close(member.pidfd) }
    }

    /// One look at memory, and an action if a rule fires. Returns how long
    /// to sleep before the next look.
    /// rehearsing: the full look (figures, rules, forecast, scan ahead) runs
    /// whatever memory says, and nothing is acted on (rehearseKillPath).
    func step(nowMs: Int64, rehearsing: Bool = false) -> Int {
        if scope == nil && dying.isEmpty && !rehearsing, let quick = QuickMemoryLook.take(),
            quick.saysMemoryIsFine(below: config.quickLookCeiling, reserve: freeRAMReserve)
        {
            tracker.update(pressure: nil, cutoff: config.pressureCutoff, nowMs: nowMs)
            forecast.reset()  // sysinfo's free RAM is not MemAvailable
            lastForecastMs = nil
            pacing.reset()
            if shortlist.scannedAtMs != nil { shortlist.clear() }
            let ram = PollInterval.headroomKiB(
                freeKiB: freeRAMReserve.availableAtLeastKiB(freeKiB: quick.freeKiB),
                totalKiB: quick.totalKiB, threshold: config.memory.terminate)
            let swap = PollInterval.headroomKiB(
                freeKiB: Int64(quick.freeSwapBytes / 1024),
                totalKiB: Int64(quick.totalSwapBytes / 1024), threshold: config.swap.terminate)
            let interval = PollInterval.milliseconds(ramHeadroomKiB: ram, swapHeadroomKiB: swap, underPressure: false)
            if kernelOOM?.isDue(nowMs: nowMs, nextLookInMs: interval) == true { checkKernelOOM(nowMs: nowMs) }
            changeReadiness(readiness.update(needed: false, nowMs: nowMs), reason: "")
            let atLeast = quick.availableAtLeastPercent(freeRAMReserve)
            serviceStatus?.look(.ok, percent: atLeast, nowMs: bustd_monotonic_ms()) { readMemory()?.availablePercent }
            return interval
        }
        // (A rehearsal must not consume a kernel OOM kill it would not report.)
        if !rehearsing { checkKernelOOM(nowMs: nowMs) }
        phases.mark("vmstat")
        guard let status = readMemory() else { return 1000 }
        phases.mark("meminfo")
        let watched = pressure?.read()?.line(config.pressureMetric)
        phases.mark("pressure")
        let pressureValue = watched?.avg10
        tracker.update(
            pressure: pressureValue, stallTotalMicroseconds: watched?.totalMicroseconds,
            cutoff: config.pressureCutoff, nowMs: nowMs)
        let ruled = decide(
            memory: status, pressure: pressureValue,
            pressureHeldMs: tracker.heldMs(nowMs: nowMs), config: config)
        let decision = rehearsing ? Decision.healthy : ruled
        reapDying()
        phases.mark("exits")
        if !rehearsing {
            let needed = KillReadiness.isNeeded(
                belowCeiling: status.availableReaches(config.quickLookCeiling),
                forecastMs: lastForecastMs, pressureCounting: tracker.aboveSinceMs != nil,
                victimsDying: !dying.isEmpty, urgency: ruled.urgency)
            changeReadiness(readiness.update(needed: needed, nowMs: nowMs), reason: status.summary)
            phases.mark("ready")
            let state = ServiceStatus.state(urgency: ruled.urgency, approaching: isApproachingLowMemory(status, config: config))
            serviceStatus?.look(state, percent: status.availablePercent, nowMs: bustd_monotonic_ms()) { status.availablePercent }
        }
        if Log.verbose {
            let pressureText = pressureValue.map { ", PSI \(config.pressureMetric.name) avg10 \(formatHundredths($0))%" } ?? ""
            let forecastText = lastForecastMs.map { ", crossing forecast \($0) ms after the last look" } ?? ""
            Log.debug("look: \(status.summary)\(pressureText)\(forecastText)")
        }
        var soonest: Int?  // a wait shorter than the usual interval
        if decision.urgency != .none {
            let verdict = pacing.verdict(
                urgency: decision.urgency, availableKiB: status.availableKiB,
                totalKiB: status.totalKiB, nowMs: nowMs, victimsDying: !dying.isEmpty)
            switch verdict {
            case .act:
                loggedWait = nil
                act(on: decision, memory: status, pressure: pressureValue, decidedAtMs: nowMs)
                phases.mark("kill")
                // Look again at once: the rules say whether that was enough.
                soonest = PollInterval.forecastMinimumMs
            case .wait(let ms, let reason):
                if loggedWait != reason {
                    Log.debug("\(decision.explanation); waiting: \(reason)")
                    loggedWait = reason
                }
                soonest = max(1, ms)
                // Between kills, new processes may have started (a build
                // starts jobs all the time): keep the shortlist fresh.
                scanAheadSlice(nowMs: nowMs)
                phases.mark("scan")
                if scanAhead != nil { soonest = min(max(1, ms), Monitor.scanLookMs) }
            }
        } else {
            pacing.reset()
            loggedWait = nil
            if rehearsing || isNear(status, nowMs: nowMs) {
                scanAheadSlice(nowMs: nowMs)
                phases.mark("scan")
                if scanAhead != nil { soonest = Monitor.scanLookMs }
            } else {
                scanAhead = nil
            }
            // The warning names the first candidate: it waits for a scan
            // ahead to finish (a few looks at most).
            if isApproachingLowMemory(status, config: config), shortlist.scannedAtMs != nil,
                lastWarningMs.map({ nowMs - $0 >= Monitor.warningIntervalMs }) ?? true
            {
                warn(memory: status, pressure: pressureValue)
                lastWarningMs = nowMs
            }
        }
        let ram = PollInterval.headroomKiB(freeKiB: status.availableKiB, totalKiB: status.totalKiB, threshold: config.memory.terminate)
        let swap = PollInterval.headroomKiB(freeKiB: status.swapFreeKiB, totalKiB: status.swapTotalKiB, threshold: config.swap.terminate)
        let crossingMs = forecast.millisecondsUntilCrossing(nowMs: nowMs, ramHeadroomKiB: ram, swapHeadroomKiB: swap)
        lastForecastMs = crossingMs
        var interval = PollInterval.milliseconds(
            ramHeadroomKiB: ram, swapHeadroomKiB: swap,
            underPressure: tracker.aboveSinceMs != nil, forecastMs: crossingMs)
        if let soonest { interval = min(interval, soonest) }
        if !dying.isEmpty { interval = min(interval, Int(Killer.checkEveryAtKillLevelMs)) }
        return interval
    }

    /// Memory close enough to a rule that a decision may come within a
    /// couple of seconds: keep the candidates ranked ahead of it.
    private func isNear(_ status: MemoryStatus, nowMs: Int64) -> Bool {
        if isApproachingLowMemory(status, config: config) { return true }
        if let forecastMs = lastForecastMs, forecastMs <= Monitor.nearForecastMs { return true }
        // The pressure rule is counting towards its duration.
        return tracker.aboveSinceMs != nil && status.availableReaches(config.pressureGate)
    }

    /// One slice of the scan ahead; a new scan starts when the shortlist
    /// is due for a refresh.
    private func scanAheadSlice(nowMs: Int64) {
        if scanAhead == nil {
            guard shortlist.isDue(nowMs: nowMs) else { return }
            scanAhead = scanner.beginPass(scope.map { .list($0.processIDs()) } ?? .all, excluding: excludedVictims)
        }
        guard let pass = scanAhead, let scan = scanner.advance(pass, budgetMs: Monitor.scanSliceMs) else { return }
        scanAhead = nil
        shortlist.refresh(scan, nowMs: nowMs) {
            VictimDetails.read($0.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
        }
        Log.debug(
            "scanned \(scan.scanned) processes ahead in \(scan.elapsedMs) ms of slices (\(scan.vanished) vanished mid-scan); first: \(scan.victim.map { "pid \($0.pid) \(quoted($0.stat.name))" } ?? "none")"
        )
    }

    /// Victims already dying: never chosen again.
    private var excludedVictims: [(pid: Int32, startTime: UInt64)] {
        dying.map { (pid: $0.victim.pid, startTime: $0.victim.startTime) }
    }

    /// The machine's figures, or the scope's where it has a memory limit.
    func readMemory() -> MemoryStatus? {
        guard let info = memoryReader.read() else {
            if !memoryReadFailed { Log.error("cannot read /proc/meminfo: \(errorText(bustd_errno()))") }
            memoryReadFailed = true
            return nil
        }
        memoryReadFailed = false
        freeRAMReserve.learn(freeKiB: info.freeKiB, availableKiB: info.availableKiB)
        let machine = MemoryStatus(info)
        return scope?.memoryStatus(machine: machine) ?? machine
    }

    /// rehearsal: bustd itself as the victim, signal 0 (rehearseKillPath).
    private func act(
        on decision: Decision, memory before: MemoryStatus, pressure pressureValue: Int?, decidedAtMs: Int64,
        rehearsal: Candidate? = nil
    ) {
        var faultsBefore = (minor: 0, major: 0)
        bustd_page_faults(&faultsBefore.minor, &faultsBefore.major)
        var choice = chooseVictim(nowMs: decidedAtMs)
        if let rehearsal { choice.ranked = [rehearsal] }
        guard let victim = choice.victim else {
            let now = bustd_monotonic_ms()
            let retry = (decision.urgency == .kill ? KillPacing.noVictimBackoffAtKillLevelMs : KillPacing.noVictimBackoffMs) / 1000
            // Said once a minute; every try is in the verbose log.
            if lastNoVictimLogMs.map({ now - $0 >= Monitor.noVictimLogIntervalMs }) ?? true {
                Log.record(
                    .warning, .noVictim,
                    "\(decision.explanation), but no process can be killed (\(choice.scanned) looked at; all protected, exempt or gone); retrying in \(retry) s"
                ) { fields in
                    fields.add("BUSTD_RULE", decision.rule?.name ?? "")
                    fields.add("BUSTD_SIGNAL", decision.urgency.signalName)
                    fields.add("BUSTD_SCANNED", choice.scanned)
                    fields.addFigures(figures(before, pressure: pressureValue))
                    fields.addThresholds(eventThresholds(before))
                }
                lastNoVictimLogMs = now
            } else {
                Log.debug("still no process can be killed (\(choice.scanned) looked at); retrying in \(retry) s")
            }
            pacing.noVictim(nowMs: now)
            return
        }
        lastNoVictimLogMs = nil
        let details =
            shortlist.cached(victim)
            ?? VictimDetails.read(victim.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
        let why = "rule \(decision.rule?.name ?? "?"): \(decision.explanation)"
        // Hooks: the victim in the environment; never for a rehearsal. It
        // is composed before the signal only for a pre-kill hook: the kill
        // event names the user, and that lookup must not hold up the
        // signal for a post-kill hook.
        let withHooks = hooks != nil && rehearsal == nil
        let hookVariables = {
            HookEnvironment.variables(
                self.killEvent(victim, details, decision: decision, memory: before, pressure: pressureValue, dryRun: self.options.dryRun))
        }
        var hookEnvironment: [[UInt8]]? = nil
        if withHooks, let preKill = hooks?.preKill {
            if decision.urgency == .kill {
                Log.info("pre-kill hook skipped: memory is at the SIGKILL threshold")
            } else {
                let environment = hookVariables()
                hookEnvironment = environment
                preKill.runAndWait(environment: environment, windowMs: Hooks.preKillWindowMs)
            }
        }
        let startPostKill = {
            guard withHooks, let postKill = self.hooks?.postKill else { return }
            postKill.start(environment: hookEnvironment ?? hookVariables(), nowMs: bustd_monotonic_ms())
        }
        if options.dryRun && rehearsal == nil {
            let (_, scopeText) = killScope(for: victim)
            say(
                .notice, "dry run: would kill \(describe(victim, details))\(scopeText); \(why); would send \(decision.urgency.signalName)",
                .kill(killEvent(victim, details, decision: decision, memory: before, pressure: pressureValue, dryRun: true)))
            startPostKill()
            pacing.killUnfinished(nowMs: bustd_monotonic_ms())
            return
        }
        let (scope, scopeText) = rehearsal == nil ? killScope(for: victim) : (.process, "")
        let report = killer.kill(
            victim, urgency: decision.urgency, decidedAtMs: decidedAtMs, scope: scope,
            rehearsal: rehearsal != nil, mayJoin: { scanner.whyNotSignal($0) },
            afterFirstSignal: { signalledMs, others in
                var faultsAfter = (minor: 0, major: 0)
                bustd_page_faults(&faultsAfter.minor, &faultsAfter.major)
                let with = others > 0 ? "\(scopeText) (\(others) more process\(others == 1 ? "" : "es"))" : ""
                say(
                    .notice,
                    "killing \(describe(victim, details))\(with); \(why); \(decision.urgency.signalName) signalled \(signalledMs) ms after the decision",
                    .kill(killEvent(victim, details, decision: decision, memory: before, pressure: pressureValue, dryRun: false)))
                Log.debug(
                    "from the decision to the signal: \(choice.scanned) processes looked at in \(choice.elapsedMs) ms, \(faultsAfter.minor - faultsBefore.minor) minor and \(faultsAfter.major - faultsBefore.major) major page faults"
                )
                startPostKill()
            },
            memoryAtKillLevel: {
                guard let now = readMemory() else { return false }
                return decide(memory: now, pressure: nil, pressureHeldMs: 0, config: config).urgency == .kill
            })
        shortlist.remove(victim)
        let after = readMemory()
        let heldKiB = victim.residentKiB + details.swapKiB
        let released = report.memoryReleased ? ", reaped early with process_mrelease" : ""
        let recoveredKiB = after.map { $0.availableKiB - before.availableKiB } ?? 0
        let recovered = after.map { "; " + recoveryText(availableBeforeKiB: before.availableKiB, after: $0, heldKiB: heldKiB) } ?? ""
        let now = bustd_monotonic_ms()
        switch report.outcome {
        case .exited(let ms):
            tracker.noteKill(nowMs: now)
            pacing.victimGone(nowMs: now, availableKiB: after?.availableKiB ?? before.availableKiB)
            say(
                .notice, "pid \(victim.pid) exited \(ms) ms after \(report.signals)\(released)\(recovered)",
                .killed(
                    Event.Killed(
                        pid: victim.pid, uid: victim.uid, processName: victim.stat.name,
                        timeToExitMs: ms, recoveredKiB: recoveredKiB, signals: report.signals)))
        case .dying(let dyingVictim):
            tracker.noteKill(nowMs: now)
            pacing.victimGone(nowMs: now, availableKiB: after?.availableKiB ?? before.availableKiB)
            dying.append(
                DyingRecord(
                    victim: dyingVictim, uid: victim.uid, name: victim.stat.name,
                    availableBeforeKiB: before.availableKiB, heldKiB: heldKiB))
            let figure = after.map { " (available \($0.availableText))" } ?? ""
            Log.notice(
                "pid \(victim.pid) has had \(report.signals)\(released), and memory is still at the SIGKILL threshold\(figure): choosing the next victim without waiting for its exit"
            )
        case .stillAlive(let ms):
            tracker.noteKill(nowMs: now)
            pacing.killUnfinished(nowMs: now)
            say(
                .error, "pid \(victim.pid) still alive \(ms) ms after SIGKILL (stuck in the kernel?)\(released)\(recovered)",
                .killFailed(
                    Event.KillFailed(
                        pid: victim.pid, uid: victim.uid, processName: victim.stat.name,
                        reason: "still alive \(ms) ms after SIGKILL")))
        case .vanished:
            Log.info("pid \(victim.pid) exited before it was signalled; nothing killed")
        case .failed(let why):
            pacing.killUnfinished(nowMs: now)
            say(
                .error, "could not kill pid \(victim.pid): \(why)",
                .killFailed(Event.KillFailed(pid: victim.pid, uid: victim.uid, processName: victim.stat.name, reason: why)))
        }
    }

    /// What goes with the victim, and how the kill line says it: the rest
    /// of its cgroup when the cgroup asks for that (memory.oom.group=1, as
    /// the kernel would do it) or with --kill-unit for a user's app unit;
    /// its process group with -g. A cgroup is killed whole only when every
    /// process in it may be killed, and never init.scope, a slice, or a
    /// user's manager itself.
    private func killScope(for victim: Candidate) -> (KillScope, String) {
        if let cgroup = victim.cgroup, let tree = scanner.policy.cgroupTree {
            var target: (directory: String, why: String)?
            if tree.isOOMGroup(cgroup) {
                target = (tree.directory(cgroup.path), " and the rest of its cgroup \(quoted(cgroup.path)) (memory.oom.group)")
            } else if options.killUnit, cgroup.place == .app, let unit = cgroup.unit {
                target = (tree.unitDirectory(of: cgroup), " and the rest of its unit \(quoted(unit)) (--kill-unit)")
            }
            if let target {
                if let refusal = refusalToKillWhole(target.directory, victim: victim) {
                    Log.info("pid \(victim.pid) is killed alone, not\(target.why): \(refusal)")
                } else {
                    return (.cgroup(target.directory), target.why)
                }
            }
        }
        if let group = killer.processGroup(for: victim) { return (.processGroup(group), " and its process group \(group)") }
        return (.process, "")
    }

    private func refusalToKillWhole(_ directory: String, victim: Candidate) -> String? {
        let name = directory.split(separator: "/").last.map(String.init) ?? ""
        if name == "init.scope" || name.hasSuffix(".slice") || (name.hasPrefix("user@") && name.hasSuffix(".service")) {
            return "\(quoted(name)) is never killed whole"
        }
        for pid in killer.cgroupMembers(directory) where pid != victim.pid {
            if let reason = scanner.whyNotSignal(pid), reason != "it is gone" { return "pid \(pid) in it may not be killed: \(reason)" }
        }
        return nil
    }

    /// Makes the kill path resident, or drops it again (KillReadiness).
    private func changeReadiness(_ change: KillReadiness.Change?, reason: @autoclosure () -> String) {
        switch change {
        case .makeReady?:
            let started = bustd_monotonic_ms()
            let faults = rehearseKillPath()
            Log.info(
                "memory near a rule (\(reason())): kill path made ready in \(bustd_monotonic_ms() - started) ms (\(faults) page faults)")
        case .drop?:
            // Said first: the words would otherwise stay resident.
            Log.debug("dropping pages the idle loop does not use")
            _ = bustd_drop_resident()
        case nil:
            break
        }
    }

    /// Start-up is over and its pages, with the kill path's, were dropped.
    func startIdle() { readiness.dropped() }

    /// Runs the kill path once, on bustd itself with signal 0 and without a
    /// word logged or published, so that the code and heap it needs are
    /// faulted in now, and locked (MCL_ONFAULT locks a page when it is
    /// first touched), rather than faulted in from disk in the middle of an
    /// emergency, when the page cache holding bustd's binary may be gone
    /// and every new page means reclaim. It also touches a heap and stack
    /// reserve for what the path allocates. Returns the page faults it took.
    func rehearseKillPath() -> Int {
        var faultsBefore = (minor: 0, major: 0)
        bustd_page_faults(&faultsBefore.minor, &faultsBefore.major)
        guard let memory = readMemory(),
            let stat = scanner.proc.withFile(pid: getpid(), "stat", limit: 1024, parseProcessStat)
        else { return 0 }
        let saved = (tracker, forecast, pacing, shortlist, dying, lastForecastMs, lastNoVictimLogMs, lastWarningMs, loggedWait)
        scanAhead = nil
        let server = events
        events = nil
        Log.rehearsing = true
        let me = Candidate(pid: getpid(), uid: getuid(), stat: stat, oomScore: 0, oomScoreAdj: 0, rank: 0, residentKiB: 0)
        let decision = decide(
            memory: MemoryStatus(totalKiB: memory.totalKiB, availableKiB: 0, swapTotalKiB: 0, swapFreeKiB: 0),
            pressure: nil, pressureHeldMs: 0, config: config)
        // What a look near the thresholds does beyond the idle look: the
        // forecast, the scan ahead, the warning (never a real decision: a
        // rehearsal must not act on the machine's real figures).
        _ = forecast.millisecondsUntilCrossing(nowMs: bustd_monotonic_ms(), ramHeadroomKiB: 1, swapHeadroomKiB: 1)
        _ = step(nowMs: bustd_monotonic_ms(), rehearsing: true)
        _ = step(nowMs: bustd_monotonic_ms() + 20, rehearsing: true)
        let pass = scanner.beginPass(.all)
        while scanner.advance(pass, budgetMs: Monitor.scanSliceMs) == nil {}
        _ = chooseVictim(nowMs: bustd_monotonic_ms())
        warn(memory: memory, pressure: nil)
        act(on: decision, memory: memory, pressure: nil, decidedAtMs: bustd_monotonic_ms(), rehearsal: me)
        reapDying()
        for record in dying { closeMembers(record.victim) }
        // What the socket would send, encoded but not published.
        let details = VictimDetails.read(me.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
        for payload in [
            Event.Payload.kill(killEvent(me, details, decision: decision, memory: memory, pressure: nil, dryRun: false)),
            .killed(
                Event.Killed(
                    pid: me.pid, uid: me.uid, processName: me.stat.name, timeToExitMs: 0,
                    recoveredKiB: 0, signals: "SIGKILL")),
            .killFailed(Event.KillFailed(pid: me.pid, uid: me.uid, processName: me.stat.name, reason: "rehearsal")),
        ] {
            Log.rehearsedBytes &+=
                Event(sequence: 1, instance: "rehearsal", timeMs: bustd_realtime_ms(), payload: payload).encodeLine().utf8.count
        }
        touchReserve()
        Log.rehearsing = false
        events = server
        (tracker, forecast, pacing, shortlist, dying, lastForecastMs, lastNoVictimLogMs, lastWarningMs, loggedWait) = saved
        scanAhead = nil
        var faultsAfter = (minor: 0, major: 0)
        bustd_page_faults(&faultsAfter.minor, &faultsAfter.major)
        return faultsAfter.minor - faultsBefore.minor + faultsAfter.major - faultsBefore.major
    }

    /// A margin of heap and stack beyond what the rehearsal itself used
    /// (a real victim's command line and event are longer than bustd's
    /// own): touched once, so that malloc finds resident, locked pages in
    /// its arena (freed blocks this small stay there) and a deeper call
    /// never faults a new stack page in.
    private func touchReserve() {
        var heap = [UInt8](repeating: 1, count: Monitor.heapReserveBytes)
        heap[heap.count - 1] = 2
        Log.rehearsedBytes &+= Int(heap[heap.count - 1])
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Monitor.stackReserveBytes) { stack in
            stack.initialize(repeating: 1)
            Log.rehearsedBytes &+= Int(stack[stack.count - 1])
        }
    }

    /// Far below glibc's 128 KiB trim threshold, so a freed reserve stays
    /// in the arena.
    static let heapReserveBytes = 16 * 1024
    static let stackReserveBytes = 16 * 1024

    /// The victim: the shortlist re-ranked on fresh figures when it is
    /// recent, else a full scan (which becomes the new shortlist).
    private func chooseVictim(nowMs: Int64) -> ScanResult {
        let excluded = excludedVictims
        if shortlist.isUsable(nowMs: nowMs) {
            let reranked = scanner.rerank(shortlist.members, excluding: excluded)
            if reranked.victim != nil {
                shortlist.reranked(reranked)
                return reranked
            }
        }
        scanAhead = nil  // the full scan restarts the listing it was reading
        let scan = scanCandidates(excluding: excluded)
        shortlist.refresh(scan, nowMs: nowMs) {
            VictimDetails.read($0.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
        }
        return scan
    }

    /// Victims left dying: report those that have exited.
    private func reapDying() {
        guard !dying.isEmpty else { return }
        let now = bustd_monotonic_ms()
        let memory = readMemory()
        dying.removeAll { record in
            guard killer.hasExited(record.victim) else { return false }
            closeMembers(record.victim)
            let ms = now - record.victim.firstSignalMs
            let released = record.victim.memoryReleased ? ", reaped early with process_mrelease" : ""
            let recovered =
                memory.map {
                    "; " + recoveryText(availableBeforeKiB: record.availableBeforeKiB, after: $0, heldKiB: record.heldKiB)
                } ?? ""
            say(
                .notice, "pid \(record.victim.pid) exited \(ms) ms after \(record.victim.signals)\(released)\(recovered)",
                .killed(
                    Event.Killed(
                        pid: record.victim.pid, uid: record.uid, processName: record.name,
                        timeToExitMs: ms, recoveredKiB: (memory?.availableKiB ?? 0) - record.availableBeforeKiB,
                        signals: record.victim.signals)))
            return true
        }
    }

    /// Scans the scope's processes, or every process without a scope.
    private func scanCandidates(excluding: [(pid: Int32, startTime: UInt64)] = []) -> ScanResult {
        scanner.scan(scope.map { .list($0.processIDs()) } ?? .all, excluding: excluding)
    }

    /// "pid 4242 (uid 1000) "firefox" exe "/usr/bin/firefox" cmdline "…" unit "app-…scope": RSS …"
    private func describe(_ victim: Candidate, _ details: VictimDetails) -> String {
        let exe = details.executable.map { " exe " + quoted($0) } ?? ""
        let unit = victim.cgroup.map { cgroup in cgroup.unit.map { " unit " + quoted($0) } ?? " cgroup " + quoted(cgroup.path) } ?? ""
        let last = victim.lastResort.map { " (chosen although \($0))" } ?? ""
        return
            "pid \(victim.pid) (uid \(victim.uid)) \(quoted(victim.stat.name))\(exe) cmdline \(quoted(details.commandLine))\(unit): RSS \(formatKiB(victim.residentKiB)), oom_score \(victim.oomScore), oom_score_adj \(victim.oomScoreAdj)\(last)"
    }

    /// Command lines are cut to this many bytes in logs.
    static let commandLineLimit = 1024

    /// Sleeps until the interval is over or a PSI trigger fires, serving
    /// the event socket meanwhile.
    private func sleep(milliseconds: Int) {
        let deadline = bustd_monotonic_ms() + Int64(milliseconds)
        while bustd_stop_requested() == 0 {
            let remaining = deadline - bustd_monotonic_ms()
            if remaining <= 0 {
                if Log.verbose && -remaining >= Monitor.slowLookMs { Log.debug("woke \(-remaining) ms late") }
                return
            }
            descriptors.removeAll(keepingCapacity: true)
            descriptors.append(pollfd(fd: pressure?.triggerFD ?? -1, events: Int16(POLLPRI), revents: 0))
            events?.appendPollDescriptors(to: &descriptors)
            let eventsEnd = descriptors.count
            var timeout = Int32(remaining)
            if let hooks, hooks.isRunning {
                hooks.appendPollDescriptors(to: &descriptors)
                timeout = hooks.pollTimeout(timeout, nowMs: bustd_monotonic_ms())
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 { return }  // a signal
            if let hooks, hooks.isRunning { hooks.service(nowMs: bustd_monotonic_ms()) }
            if ready == 0 { continue }  // the interval is over (checked above)
            if let events, events.handle(descriptors[1..<eventsEnd]) {
                if events.statusWanted { events.answerStatus(statusNow()) { statusBook.kills(ofUser: $0) } }
                readiness.otherWorkRan(nowMs: bustd_monotonic_ms())
            }
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

    private func killEvent(
        _ victim: Candidate, _ details: VictimDetails, decision: Decision, memory: MemoryStatus,
        pressure: Int?, dryRun: Bool
    ) -> Event.Kill {
        Event.Kill(
            pid: victim.pid, uid: victim.uid, userName: userName(victim.uid),
            processName: victim.stat.name, commandLine: details.commandLine,
            commandLineTruncated: details.commandLineTruncated, executablePath: details.executable,
            rssKiB: victim.residentKiB, swapKiB: details.swapKiB,
            oomScore: victim.oomScore, oomScoreAdj: victim.oomScoreAdj,
            signal: decision.urgency.signalName, rule: decision.rule == .pressure ? .pressure : .lowMemory,
            figures: figures(memory, pressure: pressure), thresholds: eventThresholds(memory), dryRun: dryRun,
            cgroup: victim.cgroup?.path, unit: victim.cgroup?.unit)
    }

    /// Never asked in a rehearsal: it runs as memory nears a rule, before
    /// any decision, and a slow userdb must not hold it up.
    private func userName(_ uid: UInt32) -> String? {
        Log.rehearsing ? nil : userNames.name(uid: uid, nowMs: bustd_monotonic_ms())
    }

    private func figures(_ memory: MemoryStatus, pressure: Int?) -> Event.Figures {
        Event.Figures(
            availablePercent: memory.availablePercent, swapFreePercent: memory.swapFreePercent, pressurePercent: pressure,
            availableKiB: memory.availableKiB, swapFreeKiB: memory.swapFreeKiB)
    }

    /// The thresholds as they applied to these totals, in both units.
    func eventThresholds(_ memory: MemoryStatus) -> Event.Thresholds {
        let ram = memory.totalKiB
        let swap = memory.swapTotalKiB
        return Event.Thresholds(
            memoryTerminatePercent: config.memory.terminate.percent(ofTotal: ram),
            memoryKillPercent: config.memory.kill.percent(ofTotal: ram),
            swapTerminatePercent: config.swap.terminate.percent(ofTotal: swap),
            swapKillPercent: config.swap.kill.percent(ofTotal: swap),
            pressureCutoffPercent: config.pressureCutoff,
            memoryTerminateKiB: config.memory.terminate.kib(ofTotal: ram), memoryKillKiB: config.memory.kill.kib(ofTotal: ram),
            swapTerminateKiB: config.swap.terminate.kib(ofTotal: swap), swapKillKiB: config.swap.kill.kib(ofTotal: swap))
    }

    /// Memory nears the low-memory rule: say so (log and event), with the
    /// process that would be chosen, at most once a minute.
    private func warn(memory: MemoryStatus, pressure: Int?) {
        let first = shortlist.members.first
        let victim = first.map { Event.Victim(pid: $0.pid, uid: $0.uid, processName: $0.stat.name) }
        let warning = Event.Warning(figures: figures(memory, pressure: pressure), thresholds: eventThresholds(memory), victim: victim)
        var waits: [String] = []
        if warning.awaits.memory {
            waits.append("available memory drops to \(config.memory.terminate.describe(totalKiB: memory.totalKiB))")
        }
        if warning.awaits.swap { waits.append("free swap drops to \(config.swap.terminate.describe(totalKiB: memory.swapTotalKiB))") }
        let when = waits.isEmpty ? "" : " if " + waits.joined(separator: " and ") + ","
        let next = first.map { ";\(when) pid \($0.pid) \(quoted($0.stat.name)) would be killed first" } ?? ""
        say(.notice, "memory is getting low: \(memory.summary)\(next)", .warning(warning))
    }

    /// A log line that is also an event: the line to the log (under
    /// journald, a record whose fields come from the event), the event to
    /// the socket's peers, the metrics and systemd's status line. The event
    /// is built only when one of them wants it.
    private func say(_ level: LogLevel, _ message: String, _ payload: @autoclosure () -> Event.Payload) {
        guard Log.journal != nil || events != nil || metrics != nil || serviceStatus != nil else {
            Log.write(level, message)
            return
        }
        let event = payload()
        if let kind = event.recordKind {
            Log.record(level, kind, message, event: event)
        } else {
            Log.write(level, message)
        }
        tell(event)
    }

    /// An event: to the socket's peers, the metrics and systemd's status
    /// line; a rehearsal's events are not counted.
    private func tell(_ event: Event.Payload) {
        events?.publish(event)
        guard !Log.rehearsing else { return }
        statusBook.note(event)
        metrics?.note(event)
        if case .kill(let kill) = event {
            serviceStatus?.noteKill(name: kill.processName, pid: kill.pid, dryRun: kill.dryRun, nowMs: bustd_monotonic_ms())
        }
    }

    /// What `bustd status` shows: built only when a peer asks.
    private func statusNow() -> DaemonStatus {
        let now = bustd_monotonic_ms()
        let memory = readMemory() ?? MemoryStatus(totalKiB: 0, availableKiB: 0, swapTotalKiB: 0, swapFreeKiB: 0)
        let pressureValue = pressure?.read()?.line(config.pressureMetric).avg10
        let excluded = excludedVictims
        let candidate = statusBook.candidate(
            shortlisted: shortlist.isUsable(nowMs: now) ? shortlist.members.first : nil, nowMs: now
        ) {
            let scan = scanCandidates(excluding: excluded)
            // A full scan restarts the /proc listing a scan ahead reads:
            // it takes that pass's place (as in chooseVictim), or the pass
            // would end on half a listing.
            if scanAhead != nil {
                scanAhead = nil
                shortlist.refresh(scan, nowMs: now) {
                    VictimDetails.read($0.pid, proc: scanner.proc, commandLineLimit: Monitor.commandLineLimit)
                }
            }
            return scan.victim
        }
        return statusBook.snapshot(
            memory: memory, figures: figures(memory, pressure: pressureValue), thresholds: eventThresholds(memory),
            pressureMetric: config.pressureMetric, forecastMs: lastForecastMs, candidate: candidate,
            dryRun: options.dryRun, nowMs: now)
    }

    private func checkKernelOOM(nowMs: Int64) {
        guard let watcher = kernelOOM else { return }
        let count = watcher.newKills(nowMs: nowMs)
        guard count > 0 else { return }
        say(
            .warning, "the kernel's OOM killer killed \(count) process\(count == 1 ? "" : "es") (\(watcher.counterName))",
            .kernelOOM(Event.KernelOOM(count: count, source: watcher.source)))
        readiness.otherWorkRan(nowMs: nowMs)
    }
}

/// What a kill gave back, in words that stay true when other processes grew
/// faster than the victim's memory came back: "memory recovered 64.1 MiB
/// (available 4.2% (41 MiB) -> 10.9% (106.4 MiB))", or "available 9.84%
/// (96 MiB) -> 9.38% (91.6 MiB): the victim held 75 MiB, and others grew by
/// 79.4 MiB meanwhile".
func recoveryText(availableBeforeKiB: Int64, after: MemoryStatus, heldKiB: Int64) -> String {
    let change = after.availableKiB - availableBeforeKiB
    let before = MemoryStatus(
        totalKiB: after.totalKiB, availableKiB: availableBeforeKiB,
        swapTotalKiB: after.swapTotalKiB, swapFreeKiB: after.swapFreeKiB)
    let figures = "available \(before.availableText) -> \(after.availableText)"
    if change > 0 { return "memory recovered \(formatKiB(change)) (\(figures))" }
    return
        "no memory recovered on balance (\(figures)): the victim held \(formatKiB(heldKiB)), and others grew by \(formatKiB(heldKiB - change)) meanwhile"
}
