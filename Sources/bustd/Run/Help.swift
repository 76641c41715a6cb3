let helpText = """
    Usage: bustd [OPTIONS]
           bustd status [--socket PATH] [--json]

    bustd is an early out-of-memory killer. It watches available memory, swap
    and memory pressure (PSI) and, before the kernel's OOM killer would fire and
    while the system still responds, kills the process that uses the most memory.

    Rules (either one fires):
      low memory   available memory <= --min-available AND free swap <= --min-swap
                   (no swap counts as empty swap). SIGTERM at the first
                   percentages, SIGKILL at the second (default: half the first).
                   A size (-M, -S) caps a percentage: with both, the lower of
                   the two applies; a size alone replaces the percentage.
      pressure     memory PSI (--psi-metric, avg10) >= --psi for --psi-duration
                   seconds while available memory is at or below twice
                   --min-available. The gate stops page-cache churn on a machine
                   with plenty of memory from killing anything. Sends SIGTERM.
                   For 10 s after any kill it does not count (the survivors
                   fault their pages back in), and then only fresh stalls do.

    Victim: the highest oom_score (--prefer/--avoid add or subtract 300); on
    ties a user's background and app units before other processes and the
    session's last, then the larger RSS. Never: bustd itself, pid 1, kernel
    threads, zombies, processes with oom_score_adj -1000, units with systemd's
    ManagedOOMPreference=omit, and protected processes. Units with
    ManagedOOMPreference=avoid, and the last process of a login session, go
    last. SIGTERM, then SIGKILL after --grace seconds, or at once if memory
    reaches the SIGKILL threshold.

    Protected (built in), from facts a process's user cannot choose:
      system programs   run as a system account (uid < 1000) from a root-owned
                        program in a system directory, whose file or process
                        name is one of:
                        \(ProtectionPolicy.systemProgramList)
      session programs  a user's own desktop session: the root-owned system
                        program itself (its file name, not the process name)
                        is one of
                        \(ProtectionPolicy.sessionProgramList)
                        running in that user's login session scope, or in the
                        session.slice or init.scope of the user's manager, and
                        holding less than a quarter of memory.
    A process's name, arguments and executable file name never protect it.

    After a kill: at the SIGKILL threshold the next victim is chosen at once.
    Below the SIGTERM threshold bustd lets the victim's memory come back, and
    chooses the next one as soon as available memory falls again (many
    processes growing at once), or after --cooldown seconds if it does not.

    Options:
      -m, --min-available PCT[,KILL_PCT]
                             Available memory thresholds in percent of total RAM
                             (default 10,5). PCT 0..100; KILL_PCT <= PCT.
      -s, --min-swap PCT[,KILL_PCT]
                             Free swap thresholds in percent of total swap
                             (default 10,5).
      -M, --min-available-size SIZE[,KILL_SIZE]
                             Available memory thresholds as sizes: KiB, or with
                             a K, M, G or T suffix (e.g. 2G,1G); KILL_SIZE <=
                             SIZE, by default half of it. With -m as well, the
                             lower of the two applies (-m 10 -M 2G: 10 % of
                             RAM, but at most 2 GiB); alone, SIZE applies and
                             the default 10,5 does not. Alone, SIZE must be
                             below total memory.
      -S, --min-swap-size SIZE[,KILL_SIZE]
                             Free swap thresholds as sizes, combined with -s
                             as -M is with -m.
      -p, --psi CUTOFF       Memory pressure cutoff, percent of time stalled in
                             the last 10 s, above 0 and at most 100 (default 25).
          --psi-metric some|full
                             "some": at least one task stalled; "full": all
                             non-idle tasks stalled (default some).
          --psi-duration SECONDS
                             How long the pressure must last (default 5).
          --grace SECONDS    Time between SIGTERM and SIGKILL (default 2).
          --cooldown SECONDS The longest wait after a kill, while memory stays
                             below the SIGTERM threshold without falling, before
                             another victim is chosen (default 1).
      -u, --unkillables GLOB[|GLOB...]
                             Never kill processes whose name or executable path
                             matches a shell glob. A name is chosen by the
                             process's own user: any user can name a process so
                             and have it spared. Prefer --protect-unit, or a
                             path under a directory only root can write.
          --protect-unit GLOB[|GLOB...]
                             Never kill processes of these systemd units of the
                             system (e.g. 'postgresql@*.service|nginx.service'),
                             or, for a glob that starts with /, in a matching
                             cgroup path. A unit inside a user's own manager is
                             named by that user and matches only by path.
          --kill-unit        Kill the victim's whole app unit (a scope or
                             service in a user's app.slice, e.g. every process of
                             one browser), as systemd-oomd does, instead of the
                             one process. Default: the process alone (and its
                             cgroup when the unit asks for it with
                             memory.oom.group, as the kernel would).
          --prefer REGEX     Prefer processes whose name matches this POSIX
                             extended regular expression.
          --avoid REGEX      Avoid processes whose name matches.
          --ignore-root-user Never kill processes owned by root.
      -g, --kill-pgroup      Signal the victim's whole process group, member by
                             member, leaving protected members out (never group
                             0 or 1, never bustd's own group).
          --scope DIR        Only processes in this cgroup directory (and its
                             children) are candidates. Where it has a memory
                             limit (v2 memory.max, or v1 memory.limit_in_bytes),
                             the memory left under it is what the rules see; its
                             memory.pressure replaces the machine's PSI, and the
                             kernel OOM kills reported are those its memory.events
                             counts (cgroup v2), not the machine's.
          --dry-run          Decide and log everything, signal nothing. Works
                             without root.
      -n, --no-daemon        Stay in the foreground (for systemd and terminals).
          --pidfile PATH     Pid file, locked while bustd runs (default
                             /run/bustd/bustd.pid when killing; none in a dry run).
          --socket PATH      Publish events (kills, exits, failures, low-memory
                             warnings, kernel OOM kills) as JSON lines on this
                             Unix socket (default /run/bustd/bustd.sock when
                             killing; none in a dry run unless given).
          --socket-group GROUP
                             Members of GROUP see every user's events; others
                             see only events about their own processes. A
                             name or a numeric gid; names come from systemd's
                             userdb where it runs, then /etc/group.
          --metrics-file PATH
                             Write Prometheus metrics (kills, warnings, memory
                             figures, thresholds) to PATH for node_exporter's
                             textfile collector, e.g.
                             /var/lib/prometheus/node-exporter/bustd.prom:
                             replaced atomically after every event and every
                             15 s. Its directory must not be writable by others
                             without the sticky bit.
          --pre-kill CMD     Run CMD just before a SIGTERM; it gets at most 200 ms,
                             then its process group is killed (SIGKILL) and the
                             signal goes out. Not run at the SIGKILL threshold.
          --post-kill CMD    Run CMD after the signal, beside the loop (never
                             waited for); killed with its process group after
                             10 s. One run of each hook at a time: events while
                             one runs are counted and logged, not queued.
                             CMD is split at spaces and executed without a shell
                             (to have one, name it: '/usr/bin/sh /etc/hook.sh'
                             is your choice to make). Its first word
                             is an absolute path to a file root owns and alone
                             may write, in directories root owns and alone may
                             write (sticky ones above it allowed), or bustd does
                             not start (status 2). The victim is in the
                             environment: BUSTD_PID, BUSTD_UID, BUSTD_USER,
                             BUSTD_NAME, BUSTD_EXE, BUSTD_CMDLINE, BUSTD_RULE,
                             BUSTD_SIGNAL, BUSTD_RSS_KIB, BUSTD_AVAILABLE_PERCENT,
                             BUSTD_UNIT (when known); BUSTD_DRY_RUN=1 in a dry
                             run, where hooks run too. Output (first 10 lines,
                             2 KiB) and exit status go to the log.
      -r, --report SECONDS   Log available memory and free swap (MiB and
                             percent) and PSI some avg10 every SECONDS, 0.1 to
                             3600 (default 0: off). bustd then wakes at least
                             that often.
      -V, --verbose          Also log every look at memory, scan and wait, each
                             line with the time since boot ([seconds.ms]).
          --version          Print the version and exit.
      -h, --help             Print this help and exit.

    Status: bustd status asks the running daemon, over its event socket (the
    default one, or --socket PATH), what it sees now: available memory and
    free swap against each threshold (percent and size), PSI against the
    cutoff, the poll interval, the forecast when memory is near a threshold,
    the process that would go first, kills, warnings and kernel OOM kills
    since start, the last kill, uptime and version. --json prints the same as
    one JSON object. It needs no root: for anyone but root and --socket-group
    members, other users' processes (as candidate, kills and last kill) are
    left out. It waits at most 2 s and exits 1 when no daemon answers. Each
    connection may ask 4 times at once, then 4 times a second.

    Logging: syslog when daemonized; under systemd, records with MESSAGE_ID and
    BUSTD_* fields on journald's native socket (journalctl -u bustd
    BUSTD_KIND=kill), or standard error with journald priority prefixes when
    that socket refuses; plain lines on a terminal.

    Exit status: 0 after SIGTERM or SIGINT, 1 on a runtime error, 2 on a usage
    error.

    Examples:
      bustd -n --dry-run -V          watch the whole system, kill nothing
      bustd -m 5,2 -s 10 -u 'postgres|/usr/bin/emacs*'
      bustd -m 10 -M 4G -r 60        10 % of RAM but at most 4 GiB; a report a minute
      bustd status --json | jq .available_percent
    """
