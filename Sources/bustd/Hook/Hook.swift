import CBustd
import Shared

#if !hasFeature(Embedded)
    import Glibc
#endif

/// One hook (--pre-kill or --post-kill) and the one process of it that may
/// run at a time. A run has a hard timeout, after which its whole process
/// group is killed (SIGKILL); an event while a run is still going is
/// counted and said when that run ends, never queued. Output is read as it
/// comes (a full pipe would stall the hook) and logged, bounded
/// (HookOutput), with the exit status, when the run ends.
final class Hook {
    let name: String
    let command: HookCommand
    let timeoutMs: Int64

    private struct Run {
        var pid: Int32
        /// Readable when the process exits (-1 without pidfd_open: the
        /// loop then looks every pollFallbackMs).
        var pidfd: Int32
        var outputFD: Int32
        var startedMs: Int64
        var output = HookOutput()
        var killedAtMs: Int64?
    }

    private var run: Run?
    /// Events that came while a run was going.
    private var skipped = 0
    static let pollFallbackMs: Int64 = 50

    init(name: String, command: HookCommand, timeoutMs: Int64) {
        self.name = name
        self.command = command
        self.timeoutMs = timeoutMs
    }

    var isRunning: Bool { run != nil }

    /// Starts a run, unless one is going (counted). Returns whether it started.
    @discardableResult
    func start(environment: [[UInt8]], nowMs: Int64) -> Bool {
        if run != nil {
            skipped += 1
            Log.info("\(name) hook: still running; this event is skipped (\(skipped) so far)")
            return false
        }
        var fds: [Int32] = [-1, -1]
        guard bustd_pipe(&fds) == 0 else {
            Log.error("\(name) hook: cannot make a pipe: \(errorText(bustd_errno()))")
            return false
        }
        let args = Array(command.arguments.joined(separator: "\0").utf8) + [0]
        let env = Array(environment.joined(separator: [0])) + [0]
        let pid = args.withUnsafeBufferPointer { argBytes in
            env.withUnsafeBufferPointer { envBytes in
                argBytes.withMemoryRebound(to: CChar.self) { argChars in
                    envBytes.withMemoryRebound(to: CChar.self) { envChars in
                        bustd_spawn_hook(
                            command.path, argChars.baseAddress, Int32(command.arguments.count),
                            envChars.baseAddress, Int32(environment.count), fds[1])
                    }
                }
            }
        }
        let spawnError = bustd_errno()
        close(fds[1])
        guard pid > 0 else {
            close(fds[0])
            Log.error("\(name) hook: cannot run \(quoted(command.path)): \(errorText(spawnError))")
            return false
        }
        run = Run(pid: pid, pidfd: bustd_pidfd_open(pid), outputFD: fds[0], startedMs: nowMs)
        Log.debug("\(name) hook: started pid \(pid)")
        return true
    }

    /// The hook's descriptors for the loop's poll.
    func appendPollDescriptors(to descriptors: inout [pollfd]) {
        guard let run else { return }
        if run.pidfd >= 0 { descriptors.append(pollfd(fd: run.pidfd, events: Int16(POLLIN), revents: 0)) }
        descriptors.append(pollfd(fd: run.outputFD, events: Int16(POLLIN), revents: 0))
    }

    /// How long poll may sleep: until the timeout, or the fallback's next look.
    func pollTimeout(_ timeout: Int32, nowMs: Int64) -> Int32 {
        guard let run else { return timeout }
        var until = run.killedAtMs == nil ? run.startedMs + timeoutMs - nowMs : Hook.pollFallbackMs
        if run.pidfd < 0 { until = min(until, Hook.pollFallbackMs) }
        return Int32(max(0, min(Int64(timeout), until)))
    }

    /// Reads output, reaps an exited run, kills one past its timeout.
    func service(nowMs: Int64) {
        guard var current = run else { return }
        drain(&current)
        var status: Int32 = 0
        if bustd_reap(current.pid, &status) == current.pid {
            // Whatever the hook left behind in its group goes with it.
            _ = bustd_kill(-current.pid, SIGKILL)
            drain(&current)
            finish(current, status: status, nowMs: nowMs)
            return
        }
        if current.killedAtMs == nil && nowMs - current.startedMs >= timeoutMs {
            _ = bustd_kill(-current.pid, SIGKILL)
            current.killedAtMs = nowMs
            Log.warning(
                "\(name) hook \(quoted(command.path)): still running after \(timeoutMs) ms; killed its process group \(current.pid) (SIGKILL)"
            )
        }
        run = current
    }

    /// Runs the hook and waits for it, at most windowMs: then its process
    /// group is killed and the caller goes on (the loop reaps it later).
    func runAndWait(environment: [[UInt8]], windowMs: Int64) {
        let started = bustd_monotonic_ms()
        guard start(environment: environment, nowMs: started) else { return }
        var descriptors: [pollfd] = []
        descriptors.reserveCapacity(2)
        while let current = run, current.killedAtMs == nil {
            let now = bustd_monotonic_ms()
            descriptors.removeAll(keepingCapacity: true)
            appendPollDescriptors(to: &descriptors)
            _ = poll(&descriptors, nfds_t(descriptors.count), pollTimeout(Int32(windowMs), nowMs: now))
            service(nowMs: bustd_monotonic_ms())
        }
    }

    /// bustd is stopping: a run still going is killed and reaped.
    func stop() {
        guard let current = run else { return }
        _ = bustd_kill(-current.pid, SIGKILL)
        var status: Int32 = 0
        for _ in 0..<100 where bustd_reap(current.pid, &status) != current.pid { usleep(10_000) }
        closeDescriptors(current)
        run = nil
    }

    private func drain(_ current: inout Run) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buffer in
            while true {
                let count = read(current.outputFD, buffer.baseAddress, buffer.count)
                guard count > 0 else { return }
                current.output.append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<count]))
            }
        }
    }

    private func finish(_ current: Run, status: Int32, nowMs: Int64) {
        closeDescriptors(current)
        run = nil
        let how =
            current.killedAtMs != nil
            ? "killed at its \(timeoutMs) ms timeout"
            : status > 128 ? "ended by signal \(status - 128)" : "exited with status \(status)"
        let missed = skipped > 0 ? "; \(skipped) event\(skipped == 1 ? "" : "s") skipped while it ran" : ""
        let line = "\(name) hook \(quoted(command.path)) (pid \(current.pid)) \(how) after \(nowMs - current.startedMs) ms\(missed)"
        if status == 0 { Log.info(line) } else { Log.warning(line) }
        skipped = 0
        for text in current.output.lines() { Log.info("\(name) hook output: \(text)") }
    }

    private func closeDescriptors(_ current: Run) {
        if current.pidfd >= 0 { close(current.pidfd) }
        close(current.outputFD)
    }
}
