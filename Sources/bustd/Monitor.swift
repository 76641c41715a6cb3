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

    private var tracker = PressureTracker()
    private var cooldownUntilMs: Int64 = 0
    private var lastNoVictimLogMs: Int64?
    private var memoryReadFailed = false
    /// Whether this cooldown was already mentioned (verbose logs only).
    private var cooldownLogged = false
    /// How long to back off when no process can be killed.
    static let noVictimBackoffMs: Int64 = 5000

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
            let ram = PollInterval.headroomKiB(freeKiB: Int64(quick.freeRAMBytes / 1024),
                                               totalKiB: Int64(quick.totalRAMBytes / 1024), threshold: config.memory.terminate)
            let swap = PollInterval.headroomKiB(freeKiB: Int64(quick.freeSwapBytes / 1024),
                                                totalKiB: Int64(quick.totalSwapBytes / 1024), threshold: config.swap.terminate)
            return PollInterval.milliseconds(ramHeadroomKiB: ram, swapHeadroomKiB: swap, underPressure: false)
        }
        guard let status = readMemory() else { return 1000 }
        let pressureValue = pressure?.read()?.avg10(config.pressureMetric)
        tracker.update(pressure: pressureValue, cutoff: config.pressureCutoff, nowMs: nowMs)
        let decision = decide(memory: status, pressure: pressureValue,
                              pressureHeldMs: tracker.heldMs(nowMs: nowMs), config: config)
        if decision.urgency != .none {
            if nowMs >= cooldownUntilMs {
                cooldownLogged = false
                act(on: decision, memory: status)
            } else if !cooldownLogged {
                Log.debug("\(decision.explanation); cooling down for \(cooldownUntilMs - nowMs) ms more")
                cooldownLogged = true
            }
        }
        let ram = PollInterval.headroomKiB(freeKiB: status.availableKiB, totalKiB: status.totalKiB, threshold: config.memory.terminate)
        let swap = PollInterval.headroomKiB(freeKiB: status.swapFreeKiB, totalKiB: status.swapTotalKiB, threshold: config.swap.terminate)
        return PollInterval.milliseconds(ramHeadroomKiB: ram, swapHeadroomKiB: swap,
                                         underPressure: tracker.aboveSinceMs != nil)
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

    private func act(on decision: Decision, memory before: MemoryStatus) {
        let scan = scanner.scan(scope.map { .list($0.processIDs()) } ?? .all)
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
        let description = describe(victim)
        let why = "rule \(decision.rule?.name ?? "?"): \(decision.explanation)"
        let group = killer.processGroup(for: victim).map { " and its process group \($0)" } ?? ""
        if options.dryRun {
            Log.notice("dry run: would kill \(description)\(group); \(why); would send \(decision.urgency.signalName)")
            cooldownUntilMs = bustd_monotonic_ms() + Int64(options.cooldownMs)
            return
        }
        Log.notice("killing \(description)\(group); \(why); sending \(decision.urgency.signalName)")
        let report = killer.kill(victim, urgency: decision.urgency) {
            guard let now = readMemory() else { return false }
            return decide(memory: now, pressure: nil, pressureHeldMs: 0, config: config).urgency == .kill
        }
        let after = readMemory()
        let recovered = after.map { " memory recovered \(formatKiB($0.availableKiB - before.availableKiB)) (available \(formatHundredths(before.availablePercent))% -> \(formatHundredths($0.availablePercent))%)" } ?? ""
        let released = report.memoryReleased ? ", reaped early with process_mrelease" : ""
        switch report.outcome {
        case .exited(let ms):
            Log.notice("pid \(victim.pid) exited \(ms) ms after \(report.signals)\(released);\(recovered)")
        case .stillAlive(let ms):
            Log.error("pid \(victim.pid) still alive \(ms) ms after SIGKILL (stuck in the kernel?)\(released);\(recovered)")
        case .vanished:
            Log.info("pid \(victim.pid) exited before it was signalled; nothing killed")
        case .failed(let why):
            Log.error("could not kill pid \(victim.pid): \(why)")
        }
        // Figures lag a kill: wait, then re-measure before another victim.
        cooldownUntilMs = bustd_monotonic_ms() + Int64(options.cooldownMs)
    }

    /// "pid 4242 (uid 1000) "firefox" exe "/usr/bin/firefox" cmdline "…": RSS …"
    private func describe(_ victim: Candidate) -> String {
        let proc = scanner.proc
        let exe = proc.readLink(pid: victim.pid, "exe").map { " exe " + quoted($0) } ?? ""
        var cmdline = proc.readBytes(pid: victim.pid, "cmdline", limit: Monitor.commandLineLimit) ?? []
        while cmdline.last == 0 { cmdline.removeLast() }
        let arguments = cmdline.map { $0 == 0 ? UInt8(ascii: " ") : $0 }
        return "pid \(victim.pid) (uid \(victim.uid)) \(quoted(victim.stat.name))\(exe) cmdline \(quoted(arguments)): RSS \(formatKiB(victim.residentKiB)), oom_score \(victim.oomScore), oom_score_adj \(victim.oomScoreAdj)"
    }

    /// Command lines are cut to this many bytes in logs.
    static let commandLineLimit = 1024

    private func sleep(milliseconds: Int) {
        var entry = pollfd(fd: pressure?.triggerFD ?? -1, events: Int16(POLLPRI), revents: 0)
        let ready = poll(&entry, 1, Int32(milliseconds))
        if ready > 0 && entry.revents & Int16(POLLERR) != 0 {
            Log.warning("the PSI trigger stopped working (its cgroup was removed?); continuing on the timer")
            pressure?.disarmTrigger()
        }
    }
}
