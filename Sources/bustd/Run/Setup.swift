import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// A reason not to start, and the exit status it earns: 2 for bad input,
/// 1 for the environment (not root, no /proc, another instance).
struct StartupError: Error {
    let message: String
    let status: Int32
}

/// Everything checked and opened before the daemon starts, so that bad
/// input fails on the terminal with one clear line, before anything runs.
final class Setup {
    let options: Options
    let monitor: Monitor
    let pressure: PressureSource?
    let scope: CgroupScope?
    let proc: ProcDirectory
    let socketGroup: UInt32?

    static let defaultPidFile = "/run/bustd/bustd.pid"

    private init(
        options: Options, monitor: Monitor, pressure: PressureSource?, scope: CgroupScope?,
        proc: ProcDirectory, socketGroup: UInt32?
    ) {
        self.options = options
        self.monitor = monitor
        self.pressure = pressure
        self.scope = scope
        self.proc = proc
        self.socketGroup = socketGroup
    }

    static func prepare(_ options: Options) -> Result<Setup, StartupError> {
        func usage(_ error: OptionError) -> Result<Setup, StartupError> { .failure(StartupError(message: error.message, status: 2)) }
        func environment(_ message: String) -> Result<Setup, StartupError> { .failure(StartupError(message: message, status: 1)) }

        var policy = VictimPolicy(ownPID: getpid())
        policy.protection.names = options.neverKill
        policy.protection.units = options.protectUnits
        policy.cgroupTree = CgroupTree.find()
        policy.ignoreRootUser = options.ignoreRootUser
        if let pattern = options.prefer {
            switch Regex.compile(pattern) {
            case .success(let regex): policy.prefer = regex
            case .failure(let error): return usage(error)
            }
        }
        if let pattern = options.avoid {
            switch Regex.compile(pattern) {
            case .success(let regex): policy.avoid = regex
            case .failure(let error): return usage(error)
            }
        }
        var scope: CgroupScope?
        if let path = options.scope {
            switch CgroupScope.open(path) {
            case .success(let opened): scope = opened
            case .failure(let error): return usage(error)
            }
        }
        var socketGroup: UInt32?
        if let name = options.socketGroup {
            guard let gid = UserDatabase.groupID(named: name) else {
                return usage(OptionError("--socket-group \(quotedArgument(name)): no such group (neither userdb nor /etc/group knows it)"))
            }
            socketGroup = gid
        }
        var hooks: Hooks?
        switch Hooks.open(options) {
        case .success(let opened): hooks = opened
        case .failure(let error): return usage(error)
        }
        if !options.dryRun && geteuid() != 0 {
            return environment("must run as root to kill other users' processes (--dry-run works without root)")
        }
        guard let proc = ProcDirectory(path: "/proc") else {
            return environment("cannot open /proc: \(errorText(bustd_errno()))")
        }
        guard let memoryReader = MemoryInfoReader(), let memory = memoryReader.read() else {
            return environment("cannot read MemAvailable from /proc/meminfo (Linux 3.14 or later is needed)")
        }
        policy.protection.totalKiB = memory.totalKiB
        if let refusal = refuseSizeAtOrAboveTotal(options, totalKiB: memory.totalKiB) { return usage(refusal) }
        let pressurePath = scope?.pressurePath ?? "/proc/pressure/memory"
        let pressure = PressureSource(path: pressurePath)
        let scanner = ProcessScanner(proc: proc, policy: policy)
        let killer = Killer(proc: proc, graceMs: options.graceMs, killProcessGroup: options.killProcessGroup)
        let monitor = Monitor(
            options: options, memoryReader: memoryReader,
            pressure: pressure.availability == .available ? pressure : nil,
            scope: scope, scanner: scanner, killer: killer)
        monitor.hooks = hooks
        monitor.kernelOOM = scope.map { KernelOOMWatcher.scoped(to: $0.path) } ?? KernelOOMWatcher()
        return .success(
            Setup(
                options: options, monitor: monitor, pressure: pressure, scope: scope,
                proc: proc, socketGroup: socketGroup))
    }

    /// Takes the pid file, detaches, protects itself, runs the loop.
    func run() -> Int32 {
        var pidFile: PidFile?
        if let path = options.pidFile ?? (options.dryRun ? nil : Setup.defaultPidFile) {
            switch PidFile.lock(path) {
            case .success(let locked): pidFile = locked
            case .failure(let error):
                writeStandardError("bustd: \(error.message)\n")
                return 1
            }
        }
        // The socket is created after the privilege checks and the pid
        // file lock, so a second instance never touches the first's socket.
        var server: EventServer?
        if let path = options.socketPath ?? (options.dryRun ? nil : EventServer.defaultPath) {
            switch EventServer.open(path: path, socketGroup: socketGroup, proc: proc) {
            case .success(let opened): server = opened
            case .failure(let error):
                writeStandardError("bustd: \(error.message)\n")
                pidFile?.remove()
                return error.status
            }
        }
        monitor.events = server
        if let path = options.metricsFile {
            switch AtomicFile.open(path, for: "the metrics file") {
            case .success(let file): monitor.metrics = MetricsFile(file: file)
            case .failure(let error):
                writeStandardError("bustd: \(error.message)\n")
                server?.shutDown()
                pidFile?.remove()
                return 1
            }
        }
        if options.daemonize, let error = daemonize() {
            writeStandardError("bustd: cannot become a daemon: \(error)\n")
            return 1
        }
        pidFile?.write(pid: getpid())
        Log.configure(daemonized: options.daemonize, verbose: options.verbose)
        bustd_install_signal_handlers()

        let locked = lockMemory()
        var protection = "oom_score_adj -1000"
        if geteuid() == 0, let error = protectFromKernelOOMKiller() {
            protection = error
        } else if geteuid() != 0 {
            protection = "oom_score_adj unchanged (not root)"
        }
        let priority = geteuid() == 0 && !options.dryRun ? raisePriority() : "priority unchanged (dry run or not root)"

        Log.record(.notice, .start, "bustd \(bustdVersion) started: \(describeRules())") { fields in
            fields.add("BUSTD_VERSION", bustdVersion)
            fields.add("BUSTD_DRY_RUN", options.dryRun)
            if let scope { fields.add("BUSTD_SCOPE", scope.path) }
            if let memory = monitor.readMemory() { fields.addThresholds(monitor.eventThresholds(memory)) }
        }
        Log.info("\(locked); \(protection); \(priority)")
        if let scope { Log.notice("scope: only processes in \(scope.path) are candidates") }
        for other in OtherKillers.running(proc: proc) {
            Log.warning("\(other) is running too: two OOM killers race for one emergency and may each take a victim; keep one of them")
        }
        if options.dryRun { Log.notice("dry run: decisions are logged, no signal is sent") }
        if let hooks = monitor.hooks { Log.info(hooks.describe(dryRun: options.dryRun)) }
        if let server { Log.info("publishing events on \(server.path) (instance \(server.instance))") }
        if monitor.kernelOOM == nil {
            let counter = scope.map { "\($0.path)/memory.events (cgroup v2, memory controller)" } ?? "/proc/vmstat"
            Log.info("\(counter) has no oom_kill counter: kernel OOM kills will not be reported")
        }
        switch pressure?.availability ?? .available {
        case .available:
            if let problem = pressure?.armTrigger() {
                Log.warning("\(problem); checking pressure on the timer only")
            } else if let trigger = pressure?.triggerDescription {
                Log.info("PSI trigger set on \(pressure?.path ?? ""): \(trigger)")
            }
        case .unavailable(let reason):
            Log.warning("memory pressure (PSI) is unavailable: \(reason); deciding on the memory figures alone")
        }
        if ServiceStatus.isWanted { monitor.serviceStatus = ServiceStatus() }
        if monitor.notifyReady() < 0 {
            Log.warning("cannot notify systemd: \(errorText(bustd_errno()))")
        }
        if let metrics = monitor.metrics {
            monitor.writeMetricsIfDue(nowMs: bustd_monotonic_ms())
            Log.info("writing metrics to \(metrics.file.path) after every event and every \(MetricsFile.intervalMs / 1000) s")
        }

        // Start-up code ran once and need not stay resident: rehearse the
        // kill path (which proves it runs and sizes the heap it needs), then
        // drop all program text; what stays resident (and locked) is what
        // the idle loop runs, until memory comes near a rule and the kill
        // path is made ready again (KillReadiness; Footprint in the README).
        let rehearsalFaults = monitor.rehearseKillPath()
        Log.info("kill path rehearsed (\(rehearsalFaults) page faults); program text dropped from memory until memory runs low")
        // The last thing before the loop: what runs after it stays resident.
        if bustd_drop_resident() < 0 { Log.warning("could not drop the program text (munlockall or madvise failed); it stays resident") }
        monitor.startIdle()

        monitor.run()

        _ = bustd_sd_notify("STOPPING=1")
        server?.shutDown()
        Log.notice("stopping on a signal")
        pidFile?.remove()
        return 0
    }

    /// The thresholds as they apply to this machine (or the scope), in
    /// both units: a size and a percentage combine into one figure.
    private func describeRules() -> String {
        let config = monitor.config
        guard let memory = monitor.readMemory() else { return "" }
        let ram = memory.totalKiB
        let swap = memory.swapTotalKiB
        let report = options.reportIntervalMs > 0 ? "; memory report every \(formatHundredths(options.reportIntervalMs / 10))s" : ""
        return
            "SIGTERM when available memory <= \(config.memory.terminate.describe(totalKiB: ram)) and free swap <= \(config.swap.terminate.describe(totalKiB: swap)), SIGKILL at \(config.memory.kill.describe(totalKiB: ram)) and \(config.swap.kill.describe(totalKiB: swap)); pressure rule: \(options.pressureMetric.name) avg10 >= \(formatHundredths(options.pressureCutoff))% for \(formatHundredths(options.pressureDurationMs / 10))s with available memory <= \(config.pressureGate.describe(totalKiB: ram))\(report)"
    }
}

/// -M given alone at or above the machine's RAM would hold the low-memory
/// rule's memory half true at every look, however much is free: refused,
/// as earlyoom refuses it. (With -m as well, the lower figure applies and
/// stays below the total, so any size is fine.)
func refuseSizeAtOrAboveTotal(_ options: Options, totalKiB: Int64) -> OptionError? {
    guard let size = options.memorySize, !options.memoryPercentGiven, size.terminate >= totalKiB else { return nil }
    return OptionError(
        "invalid value for --min-available-size: \(formatKiB(size.terminate)) is at or above total memory (\(formatKiB(totalKiB))); give a lower size, or a percentage with -m as well"
    )
}
