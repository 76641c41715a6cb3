#!/usr/bin/python3
"""Runs one e2e scenario inside the guest and writes the facts to
/results/result.json. It judges nothing: e2e/scenarios.py on the host does.

Config (JSON, written by the host into the results share):
  scenario, daemon ("bustd" | "earlyoom" | "none"), daemon_args [..],
  zram_mib (0 = no swap), hog_args [..], hog_oom_score_adj (null or int),
  decoy_mib (0 = none: a second, smaller hog that holds still),
  decoy_oom_score_adj, baseline_s, timeout_s, settle_s,
  churn_mib (0 = none: page-cache churn instead of a hog),
  decoy_name (the decoy's process name: it runs through a symlink so named),
  cgroup (null or {"path", "memory_max" (null or bytes), "members": ["hog",
  "decoy"]}: a cgroup v2 directory made before the daemon starts, with the
  memory controller and that limit; the members start inside it).

Who runs as whom: the daemon as root; the hog, canary, decoy and event
subscriber as uid 1000 ("tester"), since the daemon tells a user only about
the user's own processes. The runner protects itself (oom_score_adj -1000,
mlockall) so that it survives to report; its children start at 0.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

CONFIG = sys.argv[1]
RESULTS = os.path.dirname(CONFIG)
BIN = "/share/bin"
GUEST = "/share/guest"
TMP = "/run/e2e"  # tmpfs: logs written there never wait for the 9p share
SOCKET = "/run/bustd/bustd.sock"
NOTIFICATIONS = f"{TMP}/notifications.jsonl"
# A kill decision: "killing pid N" (bustd), "sending SIGTERM to process N"
# (earlyoom; its start-up banner also says "sending SIGTERM when ...").
KILL_LINE = re.compile(r"killing pid \d+|sending SIG[A-Z]+ to process \d+")
TERM_FRACTION = 0.10  # the daemons' default SIGTERM thresholds (-m 10 -s 10)
USER_UID = 1000

cfg = json.load(open(CONFIG))
result = {"scenario": cfg["scenario"], "daemon": cfg["daemon"], "run": cfg.get("run", 1)}


def now_ms():
    """CLOCK_MONOTONIC in ms: the same clock the canary reports in."""
    return time.monotonic() * 1000.0


# Maps the epoch milliseconds of events onto the monotonic clock.
EPOCH_MINUS_MONO = time.time() * 1000.0 - now_ms()


def protect_self():
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("-1000")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mlockall(1 | 2)  # MCL_CURRENT | MCL_FUTURE


def meminfo():
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0])
    return info


def vmstat(key):
    with open("/proc/vmstat") as f:
        for line in f:
            name, value = line.split()
            if name == key:
                return int(value)
    return 0


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pss_kib(pid):
    """Proportional set size: shared pages divided among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError):
        return False


def psi_some_avg10():
    try:
        with open("/proc/pressure/memory") as f:
            return float(f.readline().split()[1].split("=")[1])
    except (OSError, IndexError, ValueError):
        return None


def all_pids():
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def live_pids():
    """The pids of live processes: a killed process whose parent never
    reaps it (the recording server under bustd-notify) stays a zombie, and
    is dead all the same."""
    return {p for p in all_pids() if alive(p)}


def as_user():
    """preexec_fn: back to a normal oom_score_adj, then become uid 1000."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("0")
    if join_cgroup:
        with open(f"{join_cgroup}/cgroup.procs", "w") as f:
            f.write("0")  # the writer itself, while still root
    os.setgroups([])
    os.setgid(USER_UID)
    os.setuid(USER_UID)


def as_root():
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("0")


join_cgroup = None  # set around a spawn: the child starts in this cgroup


def spawn(argv, user, cgroup=None, **kwargs):
    global join_cgroup
    join_cgroup = cgroup
    try:
        return subprocess.Popen(argv, preexec_fn=as_user if user else as_root,
                                stdin=subprocess.DEVNULL, **kwargs)
    finally:
        join_cgroup = None


def make_cgroup(spec):
    """The scenario's cgroup v2 directory, with the memory controller (and
    its limit, if any). Returns its path."""
    with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
        f.write("+memory")
    os.makedirs(spec["path"], exist_ok=True)
    if spec.get("memory_max"):
        with open(f"{spec['path']}/memory.max", "w") as f:
            f.write(str(spec["memory_max"]))
        try:  # no swapping past the limit either (with swap accounting)
            with open(f"{spec['path']}/memory.swap.max", "w") as f:
                f.write("0")
        except OSError:
            pass
    return spec["path"]


def cgroup_oom_kills(path):
    """memory.events oom_kill of the cgroup: the kernel's kills in it."""
    try:
        with open(f"{path}/memory.events") as f:
            for line in f:
                key, value = line.split()
                if key == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        pass
    return None


class LineReader(threading.Thread):
    """Collects a child's stdout lines with their arrival times, as word
    lists (or, with words=False, as text)."""

    def __init__(self, stream, words=True):
        super().__init__(daemon=True)
        self.stream, self.words, self.lines = stream, words, []
        self.start()

    def run(self):
        for raw in self.stream:
            text = raw.decode(errors="replace")
            self.lines.append((now_ms(), text.split() if self.words else text.rstrip("\n")))


class Sampler(threading.Thread):
    """Every 100 ms: memory, swap, PSI, the hogs' RSS, the daemon's RSS."""

    def __init__(self, daemon_pid, hog_pids):
        super().__init__(daemon=True)
        self.daemon_pid, self.hog_pids = daemon_pid, hog_pids
        self.rows, self.running = [], True
        self.start()

    def run(self):
        while self.running:
            m = meminfo()
            hog_rss = sum(status_kib(p, "VmRSS") or 0 for p in list(self.hog_pids))
            hog_hwm = max([status_kib(p, "VmHWM") or 0 for p in list(self.hog_pids)] or [0])
            self.rows.append({
                "t_ms": round(now_ms()), "avail_kib": m["MemAvailable"], "free_kib": m["MemFree"],
                "swap_free_kib": m.get("SwapFree", 0), "swap_total_kib": m.get("SwapTotal", 0),
                "psi_some_avg10": psi_some_avg10(), "hog_rss_kib": hog_rss, "hog_hwm_kib": hog_hwm,
                "daemon_rss_kib": status_kib(self.daemon_pid, "VmRSS") if self.daemon_pid else None,
                "daemon_pss_kib": pss_kib(self.daemon_pid) if self.daemon_pid else None,
            })
            time.sleep(0.1)


def start_daemon():
    """The daemon, its output read through a pipe so that each line (the
    kill decision above all) carries the time it was written."""
    if cfg["daemon"] == "bustd":
        argv = [f"{BIN}/bustd", "-n", "--socket", SOCKET] + cfg.get("daemon_args", [])
    elif cfg["daemon"] == "earlyoom":
        # -r 3600: no periodic memory report filling the log.
        argv = ["/usr/bin/earlyoom", "-r", "3600"] + cfg.get("daemon_args", [])
    else:
        return None, None
    proc = spawn(argv, user=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = LineReader(proc.stdout, words=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # ready: socket up / first log line out
        if proc.poll() is not None:
            break
        if cfg["daemon"] == "bustd" and os.path.exists(SOCKET):
            break
        if cfg["daemon"] == "earlyoom" and output.lines:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return proc, output


def start_notifier():
    """bustd-notify as the user, in its own D-Bus session, with a recording
    notification server in place of a desktop's (the guest has no display).
    Started in every run, the daemon's or not, so that each run has the same
    processes and memory. Returns the session's process once the server
    owns its name."""
    runtime = f"{TMP}/user"
    os.makedirs(runtime, exist_ok=True)
    os.chown(runtime, USER_UID, USER_UID)
    os.chmod(runtime, 0o700)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/home/tester", "XDG_RUNTIME_DIR": runtime}
    script = (f"/usr/bin/python3 {GUEST}/fake_notification_server.py {NOTIFICATIONS} & "
              f"while ! grep -q ready {NOTIFICATIONS} 2>/dev/null; do sleep 0.1; done; "
              f"exec {BIN}/bustd-notify --config none --socket {SOCKET} --verbose")
    # Its log (--verbose: every event received) through a pipe, each line timed.
    session = spawn(["/usr/bin/dbus-run-session", "--", "/bin/sh", "-c", script], user=True, env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    session.log = LineReader(session.stdout, words=False)
    deadline = time.monotonic() + 60  # python3-gi starts slowly under TCG
    while time.monotonic() < deadline and session.poll() is None:
        if notifications() and alive_named("bustd-notify"):
            break
        time.sleep(0.1)
    time.sleep(0.5)  # its first connection to the socket
    return session


def notifications():
    """The recording server's lines: each Notify call (and {"ready": true})."""
    try:
        with open(NOTIFICATIONS) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def alive_named(name):
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == name and alive(pid):
                    return True
        except OSError:
            pass
    return False


def decision_figures(lines):
    """The memory figures the daemon printed at each decision to kill a new
    victim, in order: [(available %, free swap % or None)]. bustd says them
    in its kill line, earlyoom on the "mem avail" line before "sending
    SIG... to process N" (a SIGKILL after a SIGTERM to the same process is
    not a new decision)."""
    figures, seen = [], set()
    for i, (_, line) in enumerate(lines):
        if "killing pid" in line:
            avail = re.search(r"available memory ([0-9.]+)%", line)
            swap = re.search(r"free swap ([0-9.]+)%", line)
            figures.append((float(avail.group(1)) if avail else None, float(swap.group(1)) if swap else None))
        elif KILL_LINE.search(line):
            victim = re.search(r"to process (\d+)", line)
            if victim and victim.group(1) in seen:
                continue
            seen.add(victim.group(1) if victim else None)
            found = (None, None)
            for _, earlier in reversed(lines[:i]):
                m = re.search(r"mem avail: .*\( *([0-9.]+)%\), swap free: +(\d+) of +(\d+) MiB \( *([0-9.]+)%\)", earlier)
                if m:
                    found = (float(m.group(1)), float(m.group(4)) if int(m.group(3)) else None)
                    break
            figures.append(found)
    return figures


def read_events():
    events = []
    try:
        with open(f"{TMP}/events.jsonl") as f:
            for line in f:
                events.append(json.loads(line))
    except (OSError, ValueError):
        pass
    return events


def dmesg():
    try:
        return subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def main():
    protect_self()
    oom_before = vmstat("oom_kill")
    result["mem_total_kib"] = meminfo()["MemTotal"]
    result["psi_available"] = psi_some_avg10() is not None

    if cfg.get("zram_mib"):
        subprocess.run([f"{GUEST}/zram-setup", str(cfg["zram_mib"])], check=True)
    result["swap_total_kib"] = meminfo()["SwapTotal"]
    group = cfg.get("cgroup")
    group_path = make_cgroup(group) if group else None
    members = group.get("members", []) if group else []

    daemon, daemon_output = start_daemon()
    result["daemon_started"] = daemon is None or daemon.poll() is None
    notifier = start_notifier()
    result["notifier_started"] = alive_named("bustd-notify")

    # In every run, like the notifier: the same processes for every daemon.
    subscriber = spawn(["/usr/bin/python3", f"{GUEST}/subscriber.py", SOCKET, f"{TMP}/events.jsonl"],
                       user=True)

    canary = spawn([f"{BIN}/canary"], user=True, stdout=subprocess.PIPE)
    canary_lines = LineReader(canary.stdout)

    hog_pids = set()
    sampler = Sampler(daemon.pid if daemon else None, hog_pids)

    decoy = None
    if cfg.get("decoy_mib"):
        program = f"{BIN}/hog"
        if cfg.get("decoy_name"):  # its process name is its file's name
            program = f"{TMP}/{cfg['decoy_name']}"
            os.symlink(f"{BIN}/hog", program)
        decoy = spawn([program, "--max", str(cfg["decoy_mib"]), "--step", str(cfg["decoy_mib"])],
                      user=True, cgroup=group_path if "decoy" in members else None,
                      stdout=subprocess.DEVNULL, start_new_session=True)
        if cfg.get("decoy_oom_score_adj") is not None:
            with open(f"/proc/{decoy.pid}/oom_score_adj", "w") as f:
                f.write(str(cfg["decoy_oom_score_adj"]))

    time.sleep(cfg.get("baseline_s", 2))
    baseline_end = now_ms()
    before = live_pids()

    # The load: a growing hog, or page-cache churn with plenty of memory.
    hog_start = now_ms()
    if cfg.get("churn_mib"):
        # /dev/vdb is the host's sparse scratch disk; the reader runs as the
        # user, so that a kill of it reaches the subscriber.
        os.chmod("/dev/vdb", 0o644)
        hog = spawn([f"{BIN}/churn", "/dev/vdb", str(cfg["churn_mib"])], user=True,
                    stdout=subprocess.DEVNULL, start_new_session=True)
        hog_lines = None
    else:
        # Its own process group, so that -g never reaches the runner's.
        # A build's job sizes follow the run number: the same for every daemon.
        argv = ([f"{BIN}/build", "--seed", str(cfg.get("run", 1))] + cfg["build_args"] if cfg.get("build_args")
                else [f"{BIN}/hog"] + cfg.get("hog_args", []))
        hog = spawn(argv, user=True, cgroup=group_path if "hog" in members else None,
                    stdout=subprocess.PIPE, start_new_session=True)
        hog_lines = LineReader(hog.stdout)
    hog_pids.add(hog.pid)
    if cfg.get("hog_oom_score_adj") is not None:
        with open(f"/proc/{hog.pid}/oom_score_adj", "w") as f:
            f.write(str(cfg["hog_oom_score_adj"]))

    # Until every hog process is gone, or the decoy is (the hog is protected
    # then), or the timeout (churn runs its whole time).
    deadline = hog_start + cfg.get("timeout_s", 60) * 1000
    hog_death = None
    read = 0  # hog lines already looked at (32 growers write thousands)
    while now_ms() < deadline:
        if hog_lines:
            lines = hog_lines.lines[read:]
            read += len(lines)
            for _, words in lines:
                if len(words) == 5 and words[0] == "alloc":
                    hog_pids.add(int(words[2]))
        if hog.poll() is not None and hog_death is None:
            hog_death = now_ms()
        if hog_death is not None and not any(alive(p) for p in hog_pids if p != hog.pid):
            break
        if decoy and decoy.poll() is not None:
            break
        time.sleep(0.05)
    all_dead_ms = now_ms()
    time.sleep(cfg.get("settle_s", 3))  # let late kills and events show
    sampler.running = False
    sampler.join()

    # Facts.
    after = live_pids()
    oom_after = vmstat("oom_kill")
    hog_rc = hog.poll()
    result["hog_pid"] = hog.pid
    result["hog_pids"] = sorted(hog_pids)
    result["hog_exit"] = (signal.Signals(-hog_rc).name if hog_rc is not None and hog_rc < 0
                          else hog_rc)  # None: still alive at the timeout
    result["hogs_alive_at_end"] = sorted(p for p in hog_pids if alive(p))
    result["time_to_kill_s"] = round((hog_death - hog_start) / 1000, 2) if hog_death else None
    result["time_to_all_dead_s"] = round((all_dead_ms - hog_start) / 1000, 2)
    steps = [(t, [int(x) for x in w[1:]]) for t, w in (hog_lines.lines if hog_lines else [])
             if len(w) == 5 and w[0] == "alloc"]
    allocs = [mib for _, (mib, pid, _, _) in steps if pid == hog.pid]
    result["hog_alloc_mib"] = max(allocs, default=0)
    result["hog_peak_rss_mib"] = round(max((r["hog_hwm_kib"] for r in sampler.rows), default=0) / 1024)
    result["min_available_pct"] = round(100 * min(r["avail_kib"] for r in sampler.rows) / result["mem_total_kib"], 1)
    result["psi_some_avg10_max"] = max((r["psi_some_avg10"] or 0 for r in sampler.rows), default=None)
    result["kernel_oom_kills"] = oom_after - oom_before
    result["cgroup_oom_kills"] = cgroup_oom_kills(group_path) if group_path else None
    kernel_log = dmesg()
    result["kernel_oom_victims"] = [l.split("Killed process", 1)[1].strip()[:80]
                                    for l in kernel_log.splitlines() if "Killed process" in l]

    late = [(t, int(w[2])) for t, w in canary_lines.lines if len(w) == 3 and w[0] == "canary"]
    result["canary_baseline_worst_ms"] = round(max((l for t, l in late if t <= baseline_end), default=0) / 1000, 1)
    result["canary_worst_ms"] = round(max((l for t, l in late if t > baseline_end), default=0) / 1000, 1)
    # A canary that was not scheduled at all shows as a gap between reports.
    times = [t for t, _ in late if t > baseline_end]
    result["canary_longest_silence_ms"] = round(max((b - a for a, b in zip(times, times[1:])), default=0))
    result["canary_alive"] = canary.poll() is None
    result["subscriber_alive"] = subscriber.poll() is None
    result["notifier_alive"] = notifier.poll() is None and alive_named("bustd-notify")
    result["daemon_alive"] = daemon.poll() is None if daemon else None
    result["decoy_alive"] = decoy.poll() is None if decoy else None
    spawned = {canary.pid, daemon.pid if daemon else 0, subscriber.pid,
               decoy.pid if decoy else 0, notifier.pid}
    result["others_died"] = sorted(before - after - hog_pids - spawned)
    emergency = [r for r in sampler.rows if hog_start <= r["t_ms"] <= all_dead_ms]
    rss = [r["daemon_rss_kib"] for r in emergency if r["daemon_rss_kib"]]
    result["daemon_rss_max_kib"] = max(rss, default=None)
    result["daemon_pss_max_kib"] = max((r["daemon_pss_kib"] for r in emergency if r["daemon_pss_kib"]), default=None)

    daemon_lines = list(daemon_output.lines) if daemon else []
    daemon_log = "".join(line + "\n" for _, line in daemon_lines)
    # When the daemon decided: its first kill line, timed by the pipe.
    decided = [t for t, line in daemon_lines if KILL_LINE.search(line)]
    result["decision_s"] = round((decided[0] - hog_start) / 1000, 2) if decided else None
    result["decision_to_death_ms"] = round(hog_death - decided[0]) if decided and hog_death else None
    decisions = decision_figures(daemon_lines)
    result["decision_avail_pct"], result["decision_swap_pct"] = decisions[0] if decisions else (None, None)
    result["decision_avail_pcts"] = [avail for avail, _ in decisions]
    result["decision_swap_pcts"] = [swap for _, swap in decisions]
    if not result["swap_total_kib"]:
        result["decision_swap_pct"] = None  # no swap: bustd prints 0 %, earlyoom 0.00 %
        result["decision_swap_pcts"] = []
    # bustd: from the decision to the first signal, as it logged it.
    result["decision_to_signal_ms"] = [float(m.group(1)) for _, l in daemon_lines
                                       for m in [re.search(r"signalled ([0-9.]+) ms after the decision", l)] if m]
    # When memory crossed the default SIGTERM thresholds (10 % available and,
    # with swap, 10 % free swap): the first hog step that saw both. The
    # daemon's reaction is from there to its decision, both timed alike.
    crossed = [t for t, (_, _, avail, swap_free) in steps
               if 0 <= avail <= result["mem_total_kib"] * TERM_FRACTION
               and (not result["swap_total_kib"] or 0 <= swap_free <= result["swap_total_kib"] * TERM_FRACTION)]
    result["threshold_crossed_s"] = round((crossed[0] - hog_start) / 1000, 2) if crossed else None
    result["reaction_ms"] = round(decided[0] - crossed[0]) if decided and crossed else None
    result["daemon_kill_lines"] = [l for _, l in daemon_lines
                                   if KILL_LINE.search(l) or "escalating" in l
                                   or "exited" in l][:10]
    # "killing pid N" (bustd), "sending SIGTERM to process N" (earlyoom).
    result["daemon_victims"] = sorted({int(m) for m in re.findall(r"(?:killing pid|to process) (\d+)", daemon_log)})
    result["decoy_pid"] = decoy.pid if decoy else None
    killed_by_daemon = any(p in result["daemon_victims"] for p in hog_pids)
    killed_by_kernel = any(f"pid {p}" in v or v.startswith(f"{p} ") for p in hog_pids
                           for v in result["kernel_oom_victims"])
    result["killer"] = ("daemon" if killed_by_daemon else "kernel" if killed_by_kernel
                        else "none" if hog_rc is None else "unknown")
    result["daemon_warnings"] = [l for _, l in daemon_lines if "warning" in l][:5]

    events = read_events()
    kills = [e for e in events if e.get("event", {}).get("type") == "kill"]
    result["event_types"] = [e["event"].get("type") for e in events if "event" in e]
    hog_kills = [e for e in kills if e["event"].get("pid") in hog_pids]
    result["kill_event_received"] = bool(hog_kills)
    if hog_kills:
        first = hog_kills[0]
        result["kill_event_signal"] = first["event"].get("signal")
        result["kill_to_event_ms"] = first["recv_ms"] - first["event"]["time"]
        result["kill_at_s"] = round((first["event"]["time"] - EPOCH_MINUS_MONO - hog_start) / 1000, 2)

    # What the person would have seen: bustd-notify's Notify calls.
    shown = [n for n in notifications() if "summary" in n]
    result["notifications"] = [n["summary"] for n in shown][:10]
    kill_notes = [n for n in shown if n["summary"].startswith("bustd killed")]
    result["kill_notified"] = bool(kill_notes)
    if kill_notes and kills:
        result["kill_to_notification_ms"] = round(kill_notes[0]["time"] * 1000 - kills[0]["event"]["time"], 1)
    # When bustd-notify had read the kill event: the rest is D-Bus and the server.
    received = [t for t, line in notifier.log.lines if '"type":"kill"' in line]
    if received and kills:
        result["kill_to_notifier_ms"] = round(received[0] + EPOCH_MINUS_MONO - kills[0]["event"]["time"], 1)

    # Raw data for the bench and for humans.
    with open(f"{RESULTS}/samples.json", "w") as f:
        json.dump({"hog_start_ms": round(hog_start), "hog_death_ms": round(hog_death) if hog_death else None,
                   "kill_events_ms": [round(e["event"]["time"] - EPOCH_MINUS_MONO) for e in kills],
                   "rows": sampler.rows}, f)
    with open(f"{RESULTS}/daemon.log", "w") as f:
        f.write(daemon_log)
    with open(f"{RESULTS}/events.jsonl", "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    with open(f"{RESULTS}/dmesg.txt", "w") as f:
        f.write(kernel_log)
    # Timed logs: seconds since the hog started, then the line.
    for name, lines in (("daemon-timed.log", daemon_lines), ("notifier.log", notifier.log.lines)):
        with open(f"{RESULTS}/{name}", "w") as f:
            f.writelines(f"{(t - hog_start) / 1000:8.3f} {line}\n" for t, line in lines)
    try:
        shutil.copyfile(NOTIFICATIONS, f"{RESULTS}/notifications.jsonl")
    except OSError:
        pass

    try:
        os.killpg(notifier.pid, signal.SIGKILL)
    except OSError:
        pass
    for proc in (hog, decoy, canary, subscriber, daemon):
        if proc and proc.poll() is None:
            proc.kill()
    with open(f"{RESULTS}/result.json", "w") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print("E2E-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # report, so the host never waits for nothing
        result["runner_error"] = repr(error)
        print("E2E-RESULT " + json.dumps(result), flush=True)
        with open(f"{RESULTS}/result.json", "w") as f:
            f.write(json.dumps(result) + "\n")
        raise
