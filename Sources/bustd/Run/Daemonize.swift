import CBustd

#if !hasFeature(Embedded)
    import Glibc
#endif

/// Detaches from the terminal the classic way: fork, setsid, fork again (so
/// the daemon can never reacquire a terminal), chdir /, stdio to /dev/null.
/// Returns in the daemon; the intermediate processes exit. Returns an error
/// text if a step fails, before anything was detached.
func daemonize() -> String? {
    let first = fork()
    if first < 0 { return "fork: \(errorText(bustd_errno()))" }
    if first > 0 { _exit(0) }
    if setsid() < 0 { return "setsid: \(errorText(bustd_errno()))" }
    let second = fork()
    if second < 0 { return "fork: \(errorText(bustd_errno()))" }
    if second > 0 { _exit(0) }
    _ = umask(0o022)
    _ = chdir("/")
    let null = bustd_open("/dev/null", O_RDWR, 0)
    if null >= 0 {
        _ = dup2(null, 0)
        _ = dup2(null, 1)
        _ = dup2(null, 2)
        if null > 2 { close(null) }
    }
    return nil
}
