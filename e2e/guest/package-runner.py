#!/usr/bin/python3
"""The packages in the systemd guest: installs the built .deb files with
apt, as an administrator would, and records what the installed service and
the notifier's enablement do. Judges nothing: e2e/scenarios.py does.

Steps: install (time to active); the service under its unit (socket, its
owner and mode, oom_score_adj, locked memory, journal priorities, no refused
syscall or capability, systemd-analyze security); a stand-in desktop session
for uid 1000 starts graphical-session.target, and the notifier must come up
by the package's enablement alone, once; a hog of that user is killed by the
packaged daemon and the notification arrives; BUSTD_ARGS in
/etc/default/bustd moves the threshold; a bad option leaves the unit failed
without restarts; another OOM killer is named at start; remove stops it,
purge leaves no file, installing again starts it again.
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

CONFIG = sys.argv[1]
RESULTS = os.path.dirname(CONFIG)
USER, UID = "tester", 1000
RUNTIME = f"/run/user/{UID}"
NOTIFICATIONS = f"{RUNTIME}/notifications.jsonl"
DEBS = sorted(glob.glob("/share/debs/*.deb"))
PACKAGE_FILES = ["/usr/bin/bustd", "/usr/bin/bustd-notify", "/etc/default/bustd", "/lib/systemd/system/bustd.service",
                 "/usr/lib/systemd/user/bustd-notify.service", "/etc/xdg/autostart/bustd-notify.desktop",
                 "/usr/share/man/man8/bustd.8.gz", "/usr/share/man/man1/bustd-notify.1.gz"]

cfg = json.load(open(CONFIG))
result = {"scenario": cfg["scenario"], "daemon": "bustd", "run": cfg.get("run", 1), "flavour": "systemd"}


def progress(text):
    print(f"e2e: {text}", flush=True)
    with open(f"{RESULTS}/progress.log", "a") as f:
        f.write(f"{time.monotonic():10.3f} {text}\n")


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def user_env():
    return {"PATH": "/usr/bin:/bin", "HOME": f"/home/{USER}", "XDG_RUNTIME_DIR": RUNTIME,
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={RUNTIME}/bus"}


def as_user(argv, **kwargs):
    return run(["/usr/sbin/runuser", "-u", USER, "--", "/usr/bin/env"] + [f"{k}={v}" for k, v in user_env().items()] + argv,
               **kwargs)


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def active(unit, user=False):
    argv = ["systemctl", "--user", "is-active", unit] if user else ["systemctl", "is-active", unit]
    return (as_user(argv) if user else run(argv)).stdout.strip()


def show(unit, prop):
    return run(["systemctl", "show", unit, "-p", prop, "--value"]).stdout.strip()


def vmstat(key):
    for line in open("/proc/vmstat"):
        name, value = line.split()
        if name == key:
            return int(value)
    return 0


def status_field(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def journal(unit, since=None):
    """The unit's journal records: (realtime µs, priority, message)."""
    argv = ["journalctl", "-u", unit, "-o", "json", "--no-pager"] + (["--since", since] if since else [])
    records = []
    for line in run(argv).stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        message = record.get("MESSAGE")
        if isinstance(message, list):
            message = bytes(message).decode(errors="replace")
        records.append((int(record.get("__REALTIME_TIMESTAMP", 0)), int(record.get("PRIORITY", -1)), message or ""))
    return records


def notifications():
    try:
        return [json.loads(l) for l in open(NOTIFICATIONS) if l.strip()]
    except (OSError, ValueError):
        return []


def install():
    started = time.monotonic()
    done = run(["apt-get", "install", "-y"] + DEBS, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if done.returncode != 0:
        progress("apt-get install failed: " + done.stdout[-800:] + done.stderr[-800:])
    ok = wait_for(lambda: active("bustd") == "active", 60)
    return round(time.monotonic() - started, 2) if ok else None


def hog_killed(unit):
    """Runs a growing hog as the user in an app scope; returns facts."""
    before = vmstat("oom_kill")
    since = time.strftime("%Y-%m-%d %H:%M:%S")
    proc = subprocess.Popen(["/usr/sbin/runuser", "-u", USER, "--", "/usr/bin/env"] + [f"{k}={v}" for k, v in user_env().items()]
                            + ["systemd-run", "--user", "--scope", "--quiet", f"--unit={unit}", "/share/bin/hog", "--step", "16"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=lambda: open("/proc/self/oom_score_adj", "w").write("200"))
    hog_pid = None
    for _ in range(100):
        out = run(["pgrep", "-u", str(UID), "-x", "hog"]).stdout.split()
        if out:
            hog_pid = int(out[0])
            break
        time.sleep(0.1)
    died = wait_for(lambda: proc.poll() is not None or (hog_pid and not os.path.exists(f"/proc/{hog_pid}")), 90)
    time.sleep(2)
    kills = [(t, m) for t, p, m in journal("bustd", since) if "killing pid" in m]
    facts = {"hog_pid": hog_pid, "died": bool(died), "kernel_oom_kills": vmstat("oom_kill") - before,
             "kill_lines": [m[:400] for _, m in kills][:3],
             "killed_by_bustd": bool(hog_pid) and any(f"killing pid {hog_pid} " in m for _, m in kills)}
    avail = [float(x) for _, m in kills for x in re.findall(r"available memory ([0-9.]+)%", m)][:1]
    facts["decision_available_pct"] = avail[0] if avail else None
    shown = [n for n in notifications() if "summary" in n and str(hog_pid) in n["summary"]]
    facts["notified"] = bool(shown)
    if shown and kills:
        facts["kill_to_notification_ms"] = round(shown[0]["time"] * 1000 - kills[0][0] / 1000, 1)
    return facts


def main():
    result["systemd_pid1"] = os.readlink("/proc/1/exe").endswith("systemd")
    result["debs"] = [os.path.basename(d) for d in DEBS]
    wait_for(lambda: os.path.exists(f"{RUNTIME}/bus"), 60)
    # The desktop's side first: a recording notification server, and a
    # stand-in for the session a display manager would start, which pulls
    # in graphical-session.target (started below, after the install).
    as_user(["systemd-run", "--user", "--unit=e2e-notifications", "--quiet", "/usr/bin/python3",
             "/share/guest/fake_notification_server.py", NOTIFICATIONS])
    wait_for(lambda: any("ready" in n for n in notifications()), 60)
    os.makedirs("/etc/systemd/user", exist_ok=True)
    with open("/etc/systemd/user/e2e-desktop.service", "w") as f:
        f.write("[Unit]\nDescription=stand-in desktop session\nBindsTo=graphical-session.target\n"
                "Before=graphical-session.target\n[Service]\nExecStart=/bin/sleep infinity\n")
    as_user(["systemctl", "--user", "daemon-reload"])

    progress("installing " + " ".join(result["debs"]))
    result["install_to_active_s"] = install()
    result["enabled"] = run(["systemctl", "is-enabled", "bustd"]).stdout.strip()
    result["notifier_enabled_globally"] = run(["systemctl", "--global", "is-enabled", "bustd-notify.service"]).stdout.strip()
    pid = int(show("bustd", "MainPID") or 0)
    result["daemon_pid"] = pid
    result["status_text"] = show("bustd", "StatusText")
    result["oom_score_adj"] = int(open(f"/proc/{pid}/oom_score_adj").read()) if pid else None
    result["vm_locked_kib"] = status_field(pid, "VmLck")
    result["vm_rss_kib"] = status_field(pid, "VmRSS")
    try:
        result["pss_kib"] = int(re.search(r"^Pss:\s+(\d+)", open(f"/proc/{pid}/smaps_rollup").read(), re.M).group(1))
    except (OSError, AttributeError):
        result["pss_kib"] = None
    sock = os.stat("/run/bustd/bustd.sock") if os.path.exists("/run/bustd/bustd.sock") else None
    result["socket"] = {"uid": sock.st_uid, "mode": oct(sock.st_mode & 0o7777)} if sock else None
    rundir = os.stat("/run/bustd")
    result["runtime_dir"] = {"uid": rundir.st_uid, "mode": oct(rundir.st_mode & 0o7777)}
    records = journal("bustd")
    result["journal_priorities"] = sorted({p for _, p, _ in records})
    result["journal_started_priority"] = next((p for _, p, m in records if " started: " in m), None)
    result["journal_refusals"] = [m for _, _, m in records
                                  if re.search(r"not permitted|permission denied|SIGSYS|seccomp", m, re.I)][:5]
    kernel = run(["journalctl", "-k", "--no-pager"]).stdout
    result["kernel_seccomp_lines"] = [l for l in kernel.splitlines() if "bustd" in l and ("audit" in l or "seccomp" in l)][:5]
    result["status_shows_lines"] = "bustd" in run(["systemctl", "status", "--no-pager", "bustd"]).stdout
    security = run(["systemd-analyze", "security", "--no-pager", "bustd.service"]).stdout
    exposure = re.search(r"Overall exposure level for bustd.service: ([0-9.]+) (\S+)", security)
    result["security_exposure"] = f"{exposure.group(1)} {exposure.group(2)}" if exposure else None
    result["man_page"] = run(["man", "-w", "bustd"]).stdout.strip()

    progress("starting the stand-in desktop session")
    as_user(["systemctl", "--user", "start", "e2e-desktop.service"])
    result["notifier_active"] = wait_for(lambda: active("bustd-notify.service", user=True) == "active", 30)
    # Nothing else started it: the test never named bustd-notify to systemd.
    generated = "/tmp/e2e-generated"
    os.makedirs(generated, exist_ok=True)
    run(["/usr/lib/systemd/user-generators/systemd-xdg-autostart-generator", generated, generated, generated],
        env={**os.environ, "XDG_CONFIG_DIRS": "/etc/xdg"})
    result["autostart_units_generated"] = [f for _, _, files in os.walk(generated) for f in files if "bustd" in f]
    second = as_user(["timeout", "10", "/usr/bin/bustd-notify"])
    result["second_notifier_exit"] = second.returncode
    time.sleep(1)

    progress("a hog of uid 1000, against the packaged daemon (with -V: its trace in the journal)")
    original = open("/etc/default/bustd").read()
    with open("/etc/default/bustd", "w") as f:
        f.write(original.replace('\nBUSTD_ARGS=""', '\nBUSTD_ARGS="-V"'))
    run(["systemctl", "restart", "bustd"])
    wait_for(lambda: active("bustd") == "active", 30)
    time.sleep(2)
    result["hog"] = hog_killed("app-e2e-hog-1.scope")
    result["notifier_alive_after"] = active("bustd-notify.service", user=True) == "active"

    progress("BUSTD_ARGS=-m 20")
    with open("/etc/default/bustd", "w") as f:
        f.write(original.replace('\nBUSTD_ARGS=""', '\nBUSTD_ARGS="-m 20"'))
    run(["systemctl", "restart", "bustd"])
    wait_for(lambda: active("bustd") == "active", 30)
    result["hog_at_20"] = hog_killed("app-e2e-hog-2.scope")

    progress("a bad option")
    with open("/etc/default/bustd", "w") as f:
        f.write(original.replace('\nBUSTD_ARGS=""', '\nBUSTD_ARGS="--bogus"'))
    run(["systemctl", "restart", "bustd"])
    time.sleep(6)
    result["bad_option_state"] = active("bustd")
    result["bad_option_restarts"] = show("bustd", "NRestarts")
    result["bad_option_status_says"] = "unknown option" in run(["systemctl", "status", "--no-pager", "-n", "5", "bustd"]).stdout
    with open("/etc/default/bustd", "w") as f:
        f.write(original)
    run(["systemctl", "restart", "bustd"])
    wait_for(lambda: active("bustd") == "active", 30)

    progress("another OOM killer beside it")
    run(["systemctl", "start", "earlyoom"])
    since = time.strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1)
    run(["systemctl", "restart", "bustd"])
    wait_for(lambda: active("bustd") == "active", 30)
    result["coexistence_warning"] = [m for _, _, m in journal("bustd", since) if "earlyoom (pid" in m][:1]
    run(["systemctl", "stop", "earlyoom"])

    progress("remove, purge, install again")
    run(["apt-get", "remove", "-y", "bustd-notify", "bustd"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    time.sleep(1)
    result["after_remove_processes"] = run(["pgrep", "-x", "bustd"]).stdout.split()
    result["after_remove_state"] = active("bustd")
    result["after_remove_conffile_kept"] = os.path.exists("/etc/default/bustd")
    run(["apt-get", "purge", "-y", "bustd-notify", "bustd"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    result["after_purge_files"] = [f for f in PACKAGE_FILES if os.path.exists(f)] + \
        (["/run/bustd"] if os.path.exists("/run/bustd") else [])
    result["reinstall_to_active_s"] = install()

    result["kernel_oom_kills_total"] = vmstat("oom_kill")
    with open(f"{RESULTS}/daemon.log", "w") as f:
        f.write("\n".join(m for _, _, m in journal("bustd")) + "\n")
    with open(f"{RESULTS}/result.json", "w") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print("E2E-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        result["runner_error"] = repr(error)
        with open(f"{RESULTS}/result.json", "w") as f:
            f.write(json.dumps(result) + "\n")
        raise
