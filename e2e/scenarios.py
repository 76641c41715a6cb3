"""The e2e scenarios: what each run sets up in the guest (its config) and
what must then be true of its result (its assertions).

The guest runner (guest/runner.py) only gathers facts; the judging is here,
so that the same facts can be judged for bustd, earlyoom or no daemon.
"""

import re

# Defaults of every scenario's config (see guest/runner.py for the fields).
# daemon_args are bustd's; earlyoom_args, when set, replace them for
# earlyoom (its -p means something else, and it has no PSI rule). Scenarios
# with "daemons" run only with those.
BASE = {
    "daemon_args": [], "earlyoom_args": None, "daemons": ["none", "earlyoom", "bustd"], "zram_mib": 0, "hog_args": [], "hog_oom_score_adj": None,
    "decoy_mib": 0, "decoy_oom_score_adj": None, "churn_mib": 0,
    "baseline_s": 2, "timeout_s": 60, "settle_s": 3,
    "notification_limit_ms": 100,
}

SCENARIOS = {
    # 1. A single hog grows 32 MiB every 100 ms; no swap.
    "single-hog": {},
    # 2. The same with 512 MiB of zram swap: the daemon must wait for swap
    #    to run low too, and still beat the kernel.
    #    The notification limit is wider here: by the time swap runs low,
    #    the idle recording server and dbus-daemon are in zram themselves,
    #    and their page-ins, not bustd-notify, take the time.
    "zram": {"zram_mib": 512, "timeout_s": 90, "notification_limit_ms": 1000},
    # 3. A hog that ignores SIGTERM: the daemon must escalate to SIGKILL.
    "ignore-term": {"hog_args": ["--ignore-term"]},
    # 4. The biggest process has oom_score_adj -1000: the next one (a 200 MiB
    #    decoy) must go instead. The hog stops at 608 MiB so that killing the
    #    decoy is enough. The kernel reports oom_score 0 for -1000, so on
    #    rank alone the hog would lose to anything; here rank alone picks it:
    #    only the hog and the decoy are candidates (--scope, their own
    #    cgroup), --prefer gives the hog 300, and the decoy's oom_score_adj
    #    -900 leaves it about 206. Only the -1000 guard keeps the hog alive.
    #    earlyoom has no --scope: it would (rightly) kill other processes.
    "protected-largest": {"hog_args": ["--max", "608"], "hog_oom_score_adj": -1000,
                          "decoy_mib": 200, "decoy_oom_score_adj": -900, "decoy_name": "decoy",
                          "cgroup": {"path": "/sys/fs/cgroup/e2e-scope", "members": ["hog", "decoy"]},
                          "daemon_args": ["--scope", "/sys/fs/cgroup/e2e-scope", "--prefer", "^hog$"],
                          "daemons": ["none", "bustd"], "expect_victim": "decoy"},
    # 5. A hog with 3 forked children, 8 MiB each per step: without -g the
    #    daemon takes them one by one (four kills, one per process: the
    #    children outlive their parent), with -g the whole group at once.
    "forking-hog": {"hog_args": ["--forks", "3", "--step", "8"], "expect_kills": 4},
    "forking-hog-g": {"hog_args": ["--forks", "3", "--step", "8"], "daemon_args": ["-g"],
                      "expect_single_kill": True},
    # 6. Page-cache thrashing (1.5 GiB of a disk read over and over, each
    #    chunk twice) with plenty of available memory. Under TCG the reads
    #    are CPU-bound, so PSI avg10 peaks at only 0.8-2.4 %: the pressure
    #    cutoff is lowered to 0.5 % for 2 s so that the pressure rule really
    #    sees pressure above it, and only its memory gate may keep it from
    #    killing.
    #    The samples must show avg10 at or above the cutoff for the rule's
    #    whole duration (not one peak), or the run proves nothing.
    "pagecache": {"churn_mib": 1536, "timeout_s": 40, "expect_victim": None,
                  "daemon_args": ["-p", "0.5", "--psi-duration", "2"], "earlyoom_args": [],
                  "expect_pressure_held": True},
    # 6b. The control for 6: the same load with the gate opened wide
    #    (-m 45: the gate is at 90 % available), so the pressure rule must
    #    fire on real PSI and kill the thrashing reader. The reader is small
    #    (its data is page cache, not its own), so --prefer makes it the
    #    victim rather than the next biggest process.
    "pressure-rule": {"churn_mib": 1536, "timeout_s": 60,
                      "daemon_args": ["-m", "45", "-p", "1", "--psi-duration", "2", "--prefer", "^churn$"],
                      "expect_pressure_above": 1.0, "expect_rule": "pressure", "daemons": ["bustd"],
                      # The thrashing evicted the idle notification session's
                      # file pages; faulting them back from the guest's disk
                      # under TCG is what delays the notification here.
                      "notification_limit_ms": 1000,
                      # Once the reader is gone its stalls stop: avg10 lagging
                      # above the cutoff must not take a second process, in
                      # the 10 s rest after the kill or after it (the run
                      # goes on 15 s past the reader's death).
                      "expect_single_kill": True, "settle_s": 15},
    # 6c. The rest after a kill, and then fresh stalls only: a hog thrashing
    #    512 MiB of zram drives avg10 to 30-50 %, so the pressure rule (5 %
    #    for 3 s, gate at 90 %) kills it while swap is still far from the
    #    low-memory rule's 2 %. avg10 then decays by e every 10 s and is
    #    still above 5 % once the 10 s rest and 3 s more are over, with no
    #    fresh stalls left: only the fresh-stall rule keeps bustd from a
    #    second kill there. The samples must show that avg10 (and the gate)
    #    really stayed so, or the run proves nothing.
    "pressure-rest": {"zram_mib": 512, "timeout_s": 90, "settle_s": 20,
                      "daemon_args": ["-m", "45", "-s", "2,1", "-p", "5", "--psi-duration", "3"],
                      # By the kill the notification server and dbus-daemon
                      # are deep in the thrashed zram: paging them back in
                      # under TCG took 1.2 s in one run.
                      "expect_rule": "pressure", "daemons": ["bustd"], "notification_limit_ms": 2000,
                      "expect_single_kill": True, "expect_pressure_after_rest": True},
    # 7. Booted with psi=0: the daemon says PSI is unavailable and still acts.
    "no-psi": {"kernel_psi": "psi=0", "expect_psi_warning": True},
    # 7b. The kernel's OOM killer inside a cgroup (v2, memory.max 200 MiB):
    #    the machine keeps plenty of memory, so bustd has no rule to act on,
    #    the kernel kills the hog at its cgroup's limit, and bustd must
    #    report that kill (a kernel-oom event, read from /proc/vmstat's
    #    oom_kill, which counts cgroup OOM kills too) within its 10 s check.
    "cgroup-oom": {"cgroup": {"path": "/sys/fs/cgroup/e2e-limited", "memory_max": 200 << 20, "members": ["hog"]},
                   "settle_s": 14, "daemons": ["bustd"], "expect_victim": "kernel"},
    # 8. Many processes growing at once (parallel builds, browser tabs): N
    #    growers start together and never stop, so every one of them must
    #    be killed, each before memory runs out. Under TCG the pages are
    #    filled at 190-300 MiB/s in all, whatever N.
    "growers-4": {"hog_args": ["--forks", "3", "--step", "8"], "expect_victim": "growers"},
    "growers-12": {"hog_args": ["--forks", "11", "--step", "4"], "expect_victim": "growers"},
    "growers-32": {"hog_args": ["--forks", "31", "--step", "1"], "expect_victim": "growers",
                   "timeout_s": 120},
    # 9. A build: a driver starts 40 jobs, one every 300 ms, each growing
    #    to a random 50-300 MiB and exiting, faster than they finish. Killed
    #    jobs are not retried. The same seed gives every daemon the same
    #    job sizes in a run.
    "build": {"build_args": ["--jobs", "40", "--every", "300", "--min", "50", "--max", "300"],
              "expect_victim": "growers", "growers_may_finish": True, "timeout_s": 90},
}

# The systemd guest (build-image systemd): apps as a desktop starts them,
# each the user's transient unit named like an XDG app unit, bustd as root
# and bustd-notify as the user's service, with a desktop entry for the app.
HOG_DESKTOP_ENTRY = "[Desktop Entry]\nType=Application\nName=Example Hog\nIcon=example-hog\nExec=/share/bin/hog\n"
IDLE_APP = {"name": "app-gnome-org.example.Idle-7.scope", "kind": "scope", "argv": ["/share/bin/hog", "--max", "16", "--step", "16"]}
SYSTEMD_BASE = {"flavour": "systemd", "daemons": ["bustd"], "timeout_s": 90, "qemu_timeout_s": 360,
                "desktop_files": {"org.example.Hog": HOG_DESKTOP_ENTRY}}
SYSTEMD_SCENARIOS = {
    # The biggest app asked to be avoided (ManagedOOMPreference=avoid, set
    # by the user's manager on the unit's cgroup): the growing app, smaller
    # when memory runs out, goes first, and the notification names it by
    # its desktop entry.
    "apps-avoid": {**SYSTEMD_BASE, "units": [
        {"name": "app-org.example.Big@1.service", "kind": "service", "argv": ["/share/bin/hog", "--max", "400", "--step", "400"],
         "properties": ["ManagedOOMPreference=avoid"], "settle_s": 6},
        IDLE_APP,
        {"name": "app-gnome-org.example.Hog-42.scope", "kind": "scope", "argv": ["/share/bin/hog", "--step", "16"]}],
        "expect_dead": ["app-gnome-org.example.Hog-42.scope"],
        "expect_alive": ["app-org.example.Big@1.service", IDLE_APP["name"]],
        "expect_notification": "bustd closed Example Hog (hog, PID"},
    # --kill-unit: the app's three processes go together, as systemd-oomd
    # would take them; the other app stays.
    "kill-unit": {**SYSTEMD_BASE, "daemon_args": ["--kill-unit"], "units": [
        IDLE_APP,
        {"name": "app-gnome-org.example.Hog-43.scope", "kind": "scope", "processes": 3,
         "argv": ["/share/bin/hog", "--forks", "2", "--step", "8"]}],
        "expect_dead": ["app-gnome-org.example.Hog-43.scope"], "expect_alive": [IDLE_APP["name"]],
        "expect_single_kill": True, "expect_kill_text": "and the rest of its unit"},
    # memory.oom.group=1 on the unit (OOMPolicy=kill does it): the kernel
    # would kill the whole group, and so does bustd, without --kill-unit.
    "oom-group": {**SYSTEMD_BASE, "units": [
        IDLE_APP,
        {"name": "app-org.example.Group@1.service", "kind": "service", "processes": 3, "oom_group": True,
         "argv": ["/share/bin/hog", "--forks", "2", "--step", "8"]}],
        "expect_dead": ["app-org.example.Group@1.service"], "expect_alive": [IDLE_APP["name"]],
        "expect_single_kill": True, "expect_kill_text": "(memory.oom.group)"},
    # The Debian packages (make deb) installed with apt and run by their own
    # units, hardening included: see guest/package-runner.py.
    "package": {"flavour": "systemd", "daemons": ["bustd"], "package": True, "qemu_timeout_s": 600},
}
SCENARIOS.update(SYSTEMD_SCENARIOS)

DEFAULT_SET = ["single-hog", "zram", "ignore-term", "growers-12"]

# The SIGTERM thresholds of the daemons' defaults (-m 10 -s 10), for the
# overshoot figure: how far past them memory was when the daemon decided.
TERM_THRESHOLD_PCT = 10.0

# bustd's warning when the kernel has no PSI (Sources/bustd/Run/Setup.swift).
PSI_UNAVAILABLE_WARNING = "warning: memory pressure (PSI) is unavailable: "
# bustd's line when process_mrelease reaped a victim (Sources/bustd/Monitor.swift).
REAPED_EARLY = ", reaped early with process_mrelease"
# bustd's rest after a kill (PressureTracker.quietAfterKillMs).
PRESSURE_REST_S = 10


def pressure_rule(name):
    """bustd's pressure rule in a scenario: (cutoff %, duration s, gate %),
    from its bustd arguments (the defaults otherwise)."""
    args = SCENARIOS[name].get("daemon_args", [])
    value = lambda flag, default: args[args.index(flag) + 1] if flag in args else default
    cutoff = float(value("-p", "25"))
    duration = float(value("--psi-duration", "5"))
    gate = min(100.0, 2 * float(value("-m", "10").split(",")[0]))
    return cutoff, duration, gate


def longest_at_or_above(rows, cutoff):
    """The longest stretch of samples with PSI some avg10 >= cutoff, in s."""
    longest, since = 0.0, None
    for row in rows:
        if (row["psi_some_avg10"] or 0) >= cutoff:
            since = row["t_ms"] if since is None else since
            longest = max(longest, (row["t_ms"] - since) / 1000)
        else:
            since = None
    return longest


def runs_with(name, daemon):
    return daemon in {**BASE, **SCENARIOS[name]}["daemons"]


def config(name, daemon, run):
    cfg = dict(BASE)
    cfg.update(SCENARIOS[name])
    if daemon == "earlyoom" and cfg["earlyoom_args"] is not None:
        cfg["daemon_args"] = cfg["earlyoom_args"]
    cfg.update({"scenario": name, "daemon": daemon, "run": run})
    return cfg


def default_thresholds(cfg):
    """Whether the daemon runs with the default SIGTERM thresholds, which
    the runner's threshold_crossed_s and reaction_ms assume."""
    return not any(a.startswith(("-m", "-s", "-M", "-S")) for a in cfg["daemon_args"])


def overshoot_pct(cfg, r):
    """Percentage points past the SIGTERM thresholds when the daemon decided
    (the rule needs both RAM and swap below, so the smaller gap counts);
    0 or less: it decided on time. None for other thresholds."""
    if not default_thresholds(cfg) or r.get("decision_avail_pct") is None:
        return None
    gaps = [TERM_THRESHOLD_PCT - r["decision_avail_pct"]]
    if r.get("decision_swap_pct") is not None:
        gaps.append(TERM_THRESHOLD_PCT - r["decision_swap_pct"])
    return round(min(gaps), 2)


def check(cfg, r, samples=None):
    """Returns the failed assertions of one run (empty: it passed).
    samples: the run's samples.json (the 100 ms rows), for the assertions
    on how PSI moved."""
    failures = []

    def expect(condition, text):
        if not condition:
            failures.append(text)

    if "runner_error" in r:
        return ["runner failed: " + r["runner_error"]]
    if cfg.get("package"):
        return check_package(cfg, r)
    if cfg.get("flavour") == "systemd":
        return check_systemd(cfg, r)
    victim = cfg.get("expect_victim", "hog")
    if victim != "kernel":
        expect(r["kernel_oom_kills"] == 0, f"kernel OOM killer fired {r['kernel_oom_kills']} time(s)")
    expect(r["canary_alive"], "the canary died")
    expect(not r["others_died"], f"other processes died: {r['others_died']}")
    if cfg["daemon"] != "none":
        expect(r["daemon_alive"], "the daemon died")
    if cfg["daemon"] == "bustd":
        expect(r["subscriber_alive"], "the event subscriber died")
        expect(r["notifier_started"], "bustd-notify did not start (see notifier.log)")
        expect(r["notifier_alive"], "bustd-notify died")

    if victim == "hog":
        expect(r["hog_exit"] is not None and not r["hogs_alive_at_end"],
               f"the hog survived (exit {r['hog_exit']}, alive {r['hogs_alive_at_end']})")
        expect(r["killer"] == "daemon", f"the hog was killed by {r['killer']}, not by the daemon")
        if cfg["daemon"] == "bustd":
            expect(r.get("kill_event_received"), "the subscriber got no kill event for the hog")
            expect(r.get("kill_notified"), "bustd-notify showed no kill notification")
            delay, limit = r.get("kill_to_notification_ms"), cfg["notification_limit_ms"]
            expect(delay is not None and delay <= limit,
                   f"the notification came {delay} ms after the kill event (limit {limit} ms)")
    elif victim == "growers":
        strangers = [p for p in r["daemon_victims"] if p not in r["hog_pids"]]
        expect(not strangers, f"the daemon killed processes that were not growing: {strangers}")
        expect(not r["hogs_alive_at_end"], f"growers still alive at the end: {r['hogs_alive_at_end']}")
        if not cfg.get("growers_may_finish"):
            expect(r["killer"] == "daemon", f"the growers were killed by {r['killer']}, not by the daemon")
        if cfg["daemon"] == "bustd" and r["daemon_victims"]:
            expect(r.get("kill_event_received"), "the subscriber got no kill event for a grower")
            expect(r.get("kill_notified"), "bustd-notify showed no kill notification")
        if cfg["daemon"] != "none" and not r["swap_total_kib"]:
            at_zero = [p for p in r.get("decision_avail_pcts", []) if p is not None and p <= 0]
            expect(not at_zero, f"{len(at_zero)} kill(s) decided at 0 % available: too late")
    elif victim == "decoy":
        expect(r["decoy_alive"] is False and r["decoy_pid"] in r["daemon_victims"],
               "the decoy (next biggest) was not killed by the daemon")
        expect(r["hog_exit"] is None, f"the protected hog died ({r['hog_exit']})")
        if cfg["daemon"] != "none":
            expect(r["hog_pid"] not in r["daemon_victims"], "the daemon chose the protected hog")
    elif victim == "kernel":
        # The kernel's OOM killer, at the hog's cgroup limit, and bustd told.
        expect(r["hog_exit"] == "SIGKILL" and r["killer"] == "kernel",
               f"the hog was not killed by the kernel (exit {r['hog_exit']}, killer {r['killer']})")
        expect(r["kernel_oom_kills"] == 1 and r.get("cgroup_oom_kills") == 1,
               f"kernel OOM kills: {r['kernel_oom_kills']} (vmstat), {r.get('cgroup_oom_kills')} (the cgroup's memory.events); 1 expected")
        expect(not r["daemon_kill_lines"], f"the daemon killed: {r['daemon_kill_lines'][:1]}")
        if cfg["daemon"] == "bustd":
            expect("kernel-oom" in r.get("event_types", []),
                   f"bustd published no kernel-oom event (events: {r.get('event_types')})")
            expect(any("the kernel's OOM killer killed 1 process" in w for w in r["daemon_warnings"]),
                   f"bustd did not log the kernel's OOM kill: {r['daemon_warnings']}")
            expect(any(n.startswith("The kernel's OOM killer killed") for n in r.get("notifications", [])),
                   f"bustd-notify showed no notification of the kernel's kill: {r.get('notifications')}")
    else:
        expect(not r["daemon_kill_lines"], f"something was killed: {r['daemon_kill_lines'][:1]}")
        expect(r["hog_exit"] is None, "the page-cache reader died")

    if "--ignore-term" in cfg["hog_args"]:
        expect(r["hog_exit"] == "SIGKILL", f"the SIGTERM-proof hog ended by {r['hog_exit']}, not SIGKILL")
    if cfg.get("expect_single_kill"):
        expect(len(r["daemon_victims"]) == 1, f"{len(r['daemon_victims'])} kills for one process group")
    if cfg.get("expect_kills") and cfg["daemon"] != "none":
        strangers = [p for p in r["daemon_victims"] if p not in r["hog_pids"]]
        expect(len(r["daemon_victims"]) == cfg["expect_kills"] and not strangers,
               f"{len(r['daemon_victims'])} kills ({len(strangers)} not of the hog's processes), "
               f"{cfg['expect_kills']} expected: one per process")
    if "--ignore-term" in cfg["hog_args"] and cfg["daemon"] == "bustd":
        expect(any(f"pid {r['hog_pid']} exited " in l and REAPED_EARLY in l for l in r["daemon_kill_lines"]),
               "bustd did not say that process_mrelease reaped the hog early")
    if cfg.get("expect_pressure_held") and r.get("psi_available"):
        cutoff, duration, _ = pressure_rule(cfg["scenario"])
        held = longest_at_or_above((samples or {}).get("rows", []), cutoff)
        expect(held >= duration, f"PSI some avg10 stayed at or above the {cutoff} % cutoff for {held} s at most,"
               f" less than the rule's {duration} s: the scenario proves nothing")
    if cfg.get("expect_pressure_after_rest") and r.get("psi_available"):
        expect_pressure_after_rest(cfg, r, samples or {}, expect)
    if cfg.get("expect_pressure_above") and r.get("psi_available"):
        expect((r.get("psi_some_avg10_max") or 0) >= cfg["expect_pressure_above"],
               f"the load made too little pressure (PSI some avg10 max {r.get('psi_some_avg10_max')}"
               f" < {cfg['expect_pressure_above']}): the scenario proves nothing")
    if cfg.get("expect_rule"):
        expect(any(f"rule {cfg['expect_rule']}" in l for l in r["daemon_kill_lines"]),
               f"no kill by the {cfg['expect_rule']} rule")
    if cfg.get("expect_psi_warning") and cfg["daemon"] == "bustd":
        expect(not r["psi_available"], "the guest still has PSI")
        expect(any(PSI_UNAVAILABLE_WARNING in w for w in r["daemon_warnings"]),
               f"bustd did not warn that PSI is unavailable: {r['daemon_warnings']}")
    return failures


def expect_pressure_after_rest(cfg, r, samples, expect):
    """The scenario proves the fresh-stall rule only if, once the rest after
    the kill and then the rule's duration were over, avg10 was still at or
    above the cutoff and memory under the gate: from then on only the
    fresh-stall rule stood between that old pressure and a second kill."""
    cutoff, duration, gate = pressure_rule(cfg["scenario"])
    kills = samples.get("kill_events_ms") or []
    killed_ms = kills[0] if kills else samples.get("hog_death_ms")
    if killed_ms is None:
        expect(False, "no kill: the rest after a kill was never tested")
        return
    window = (killed_ms + PRESSURE_REST_S * 1000, killed_ms + (PRESSURE_REST_S + duration) * 1000)
    rows = [row for row in samples.get("rows", []) if window[0] <= row["t_ms"] <= window[1]]
    last_ms = max((row["t_ms"] for row in samples.get("rows", [])), default=0)
    expect(last_ms >= window[1], f"the run ended {round((last_ms - killed_ms) / 1000, 1)} s after the kill,"
           f" before the {PRESSURE_REST_S} s rest and the {duration} s duration were over")
    lowest = min((row["psi_some_avg10"] or 0 for row in rows), default=0)
    expect(rows and lowest >= cutoff, f"PSI some avg10 fell to {lowest} % (cutoff {cutoff} %) within"
           f" {PRESSURE_REST_S + duration} s of the kill: the rest after it proves nothing")
    total = r["mem_total_kib"]
    highest = max((100 * row["avail_kib"] / total for row in rows), default=100)
    expect(highest <= gate, f"available memory rose to {round(highest, 1)} % after the rest, above the"
           f" {gate} % gate: the rest after the kill proves nothing")


def check_systemd(cfg, r):
    """The systemd guest's scenarios: which units died, and by whose hand."""
    failures = []

    def expect(condition, text):
        if not condition:
            failures.append(text)

    expect(r.get("systemd_pid1"), "PID 1 is not systemd")
    expect(r.get("user_bus"), "uid 1000 has no user manager bus")
    expect(r.get("kernel_oom_kills") == 0, f"kernel OOM killer fired {r.get('kernel_oom_kills')} time(s)")
    expect(r.get("daemon_alive"), "bustd died")
    pids = r.get("unit_pids", {})
    alive = r.get("alive", {})
    for unit in cfg.get("expect_dead", []):
        expect(pids.get(unit), f"{unit} never started")
        expect(not alive.get(unit), f"{unit} survived: {alive.get(unit)}")
    for unit in cfg.get("expect_alive", []):
        expect(pids.get(unit) and alive.get(unit) == pids.get(unit), f"{unit} lost processes: {pids.get(unit)} -> {alive.get(unit)}")
    doomed = {p for unit in cfg.get("expect_dead", []) for p in pids.get(unit, [])}
    strangers = [p for p in r.get("daemon_victims", []) if p not in doomed]
    expect(not strangers, f"bustd chose processes outside the doomed units: {strangers}")
    if cfg.get("expect_single_kill"):
        expect(len(r.get("daemon_kill_lines", [])) == 1, f"{len(r.get('daemon_kill_lines', []))} kills for one unit")
    if cfg.get("expect_kill_text"):
        expect(any(cfg["expect_kill_text"] in l for l in r.get("daemon_kill_lines", [])),
               f"no kill line says {cfg['expect_kill_text']!r}")
    if cfg.get("expect_notification"):
        expect(any(n.startswith(cfg["expect_notification"]) for n in r.get("notifications", [])),
               f"no notification {cfg['expect_notification']!r}: {r.get('notifications')}")
    return failures


def check_package(cfg, r):
    """The installed packages, in the systemd guest."""
    failures = []

    def expect(condition, text):
        if not condition:
            failures.append(text)

    expect(len(r.get("debs", [])) == 2, f"the two packages were not in the share: {r.get('debs')} (make deb)")
    expect(r.get("install_to_active_s") is not None, "bustd.service never became active after apt-get install")
    expect(r.get("enabled") == "enabled", f"bustd.service is {r.get('enabled')}, not enabled")
    expect(r.get("notifier_enabled_globally") == "enabled", "bustd-notify.service is not enabled for every user")
    expect(
        re.fullmatch(r"ok: \d+% available", r.get("status_text") or "") is not None,
        f"STATUS= is {r.get('status_text')!r}, not 'ok: N% available'",
    )
    expect(r.get("oom_score_adj") == -1000, f"bustd's oom_score_adj is {r.get('oom_score_adj')}")
    expect((r.get("vm_locked_kib") or 0) > 0, "bustd's memory is not locked")
    expect(r.get("socket") == {"uid": 0, "mode": "0o666"}, f"the socket is {r.get('socket')}, not root's 0666")
    expect(r.get("runtime_dir") == {"uid": 0, "mode": "0o755"}, f"/run/bustd is {r.get('runtime_dir')}")
    expect(r.get("journal_started_priority") == 5, "the start line is not at notice priority in the journal")
    expect(not r.get("journal_refusals"), f"refusals in bustd's journal: {r.get('journal_refusals')}")
    expect(not r.get("kernel_seccomp_lines"), f"the kernel logged bustd's syscalls: {r.get('kernel_seccomp_lines')}")
    expect(r.get("status_shows_lines"), "systemctl status shows no line of bustd's")
    expect(r.get("man_page", "").endswith("bustd.8.gz"), f"man -w bustd: {r.get('man_page')!r}")
    expect(r.get("notifier_active"), "bustd-notify did not start with the graphical session (package enablement)")
    expect(not r.get("autostart_units_generated"), f"systemd's XDG autostart generator made {r.get('autostart_units_generated')}")
    expect(r.get("second_notifier_exit") == 0, f"a second bustd-notify exited {r.get('second_notifier_exit')} (0 and at once expected)")
    hog = r.get("hog") or {}
    expect(hog.get("killed_by_bustd"), f"the user's hog was not killed by the packaged bustd: {hog}")
    expect(hog.get("kernel_oom_kills") == 0, f"the kernel OOM killer fired {hog.get('kernel_oom_kills')} time(s)")
    expect(hog.get("notified"), "no notification of the kill reached the user's session")
    expect(r.get("notifier_alive_after"), "bustd-notify did not survive")
    at20 = r.get("hog_at_20") or {}
    expect(at20.get("killed_by_bustd") and at20.get("decision_available_pct") is not None
           and 15 <= at20["decision_available_pct"] <= 20, f"BUSTD_ARGS=-m 20: decided at {at20.get('decision_available_pct')} %")
    expect(r.get("bad_option_state") == "failed", f"with a bad option the unit is {r.get('bad_option_state')}, not failed")
    expect(r.get("bad_option_restarts") == "0", f"a bad option restarted it {r.get('bad_option_restarts')} times")
    expect(r.get("bad_option_status_says"), "systemctl status does not show the bad option's error")
    expect(r.get("coexistence_warning"), "no warning that earlyoom runs too")
    expect(not r.get("after_remove_processes") and r.get("after_remove_state") != "active",
           f"after apt-get remove: processes {r.get('after_remove_processes')}, state {r.get('after_remove_state')}")
    expect(r.get("after_remove_conffile_kept"), "remove deleted /etc/default/bustd (a conffile: only purge should)")
    expect(not r.get("after_purge_files"), f"left after purge: {r.get('after_purge_files')}")
    expect(r.get("reinstall_to_active_s") is not None, "installing again did not start bustd")
    return failures
