import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// Keeps bustd's pages in RAM: a daemon that must act when memory runs out
/// cannot wait for its own code to be paged back in. MCL_ONFAULT locks pages
/// as they are touched instead of making every mapping resident.
/// Returns what was done, for the start-up log.
func lockMemory() -> String {
    if mlockall(Int32(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) == 0 { return "memory locked (MCL_ONFAULT)" }
    if mlockall(Int32(MCL_CURRENT | MCL_FUTURE)) == 0 { return "memory locked" }
    return "memory not locked: mlockall: \(errorText(bustd_errno()))"
}

/// Sets bustd's own oom_score_adj to -1000 so the kernel's OOM killer never
/// picks it. Needs root (CAP_SYS_RESOURCE); returns an error text otherwise.
func protectFromKernelOOMKiller(procPath: String = "/proc/self/oom_score_adj") -> String? {
    let fd = bustd_open(procPath, O_WRONLY, 0)
    guard fd >= 0 else { return "cannot open \(procPath): \(errorText(bustd_errno()))" }
    defer { close(fd) }
    let text = Array("-1000".utf8)
    let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    return written == text.count ? nil : "cannot set oom_score_adj: \(errorText(bustd_errno()))"
}

/// Runs bustd at the highest priority (nice -20), as its systemd unit
/// does, also where no unit starts it. When many processes grow at once
/// they are all runnable, and at nice 0 bustd gets its share of the CPU
/// with them: in the e2e guest, twelve growers on two CPUs made one scan of
/// 84 processes take 160 ms and a look come 20 ms late, while memory fell
/// by several percent. bustd sleeps between looks, so the priority costs
/// the machine nothing while memory is fine. Returns what was done.
func raisePriority() -> String {
    bustd_set_nice(SelfProtection.nice) == 0
        ? "nice \(SelfProtection.nice)" : "priority unchanged: setpriority: \(errorText(bustd_errno()))"
}

enum SelfProtection {
    static let nice: Int32 = -20
}
