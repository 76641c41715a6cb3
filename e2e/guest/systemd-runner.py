#!/usr/bin/python3
"""Runs one scenario in the systemd guest and writes the facts to
/results/result.json. Judges nothing: e2e/scenarios.py on the host does.

The guest boots systemd; uid 1000 ("tester") has a user manager from boot
(lingering) with its own session bus, as a desktop user has. The scenario
starts apps the way a desktop does, as that user's transient units
(systemd-run --user --scope / --unit, named like XDG app units), a recording
notification server and bustd-notify as user services, and bustd as root.

Config (JSON): scenario, daemon_args [..], units: [{"name", "kind": "scope" |
"service", "argv": [..], "properties": [..], "oom_group": bool}], timeout_s,
desktop_files: {"id": "contents"}, expect (used by the host only).
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

CONFIG = sys.argv[1]
RESULTS = os.path.dirname(CONFIG)
BIN = "/share/bin"
GUEST = "/share/guest"
SOCKET = "/run/bustd/bustd.sock"
USER = "tester"
UID = 1000
RUNTIME = f"/run/user/{UID}"
MANAGER = f"/sys/fs/cgroup/user.slice/user-{UID}.slice/user@{UID}.service"
NOTIFICATIONS = f"{RUNTIME}/notifications.jsonl"

cfg = json.load(open(CONFIG))
result = {"scenario": cfg["scenario"], "daemon": "bustd", "run": cfg.get("run", 1), "flavour": "systemd"}


def now_ms():
    return time.monotonic() * 1000.0


def user_env():
    return {"PATH": "/usr/bin:/bin", "HOME": f"/home/{USER}", "XDG_RUNTIME_DIR": RUNTIME,
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={RUNTIME}/bus"}


def as_user(argv, **kwargs):
    """Runs argv as the tester, in its session's environment."""
    return subprocess.run(["/usr/sbin/runuser", "-u", USER, "--", "/usr/bin/env"]
                          + [f"{k}={v}" for k, v in user_env().items()] + argv,
                          capture_output=True, text=True, **kwargs)


def vmstat(key):
    with open("/proc/vmstat") as f:
        for line in f:
            name, value = line.split()
            if name == key:
                return int(value)
    return 0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError):
        return False


def unit_cgroup(unit):
    """The unit's cgroup directory under the user manager, wherever its
    slice put it (instances of a template get a slice of their own:
    app.slice/app-app\x2dorg.example.Big.slice/app-org.example.Big@1.service)."""
    for root, dirs, _ in os.walk(MANAGER):
        if unit in dirs:
            return os.path.join(root, unit)
    return None


def unit_pids(unit):
    path = unit_cgroup(unit)
    if not path:
        return []
    pids = []
    for root, _, files in os.walk(path):
        if "cgroup.procs" in files:
            with open(os.path.join(root, "cgroup.procs")) as f:
                pids += [int(p) for p in f.read().split()]
    return pids


def wait_for(what, condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    progress(f"gave up waiting for {what}")
    return False


def notifications():
    try:
        with open(NOTIFICATIONS) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def progress(text):
    """To the console and, line by line, to the results share: a run that
    dies still leaves its story."""
    print(f"e2e: {text}", flush=True)
    with open(f"{RESULTS}/progress.log", "a") as f:
        f.write(f"{now_ms() / 1000:10.3f} {text}\n")


class Lines(threading.Thread):
    """The daemon's output, kept and copied to the results share as it comes."""
    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []
        self.copy = open(f"{RESULTS}/daemon.log", "w", buffering=1)
        self.start()

    def run(self):
        for raw in self.stream:
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append((now_ms(), line))
            self.copy.write(line + "\n")


def user_service_adjustment():
    """The oom_score_adj the user's manager gives its units (a desktop's
    launcher passes the same on to the apps it starts in scopes)."""
    for unit in ("e2e-notifications.service", "dbus.service"):
        path = unit_cgroup(unit)
        if path:
            for pid in open(os.path.join(path, "cgroup.procs")).read().split():
                try:
                    return int(open(f"/proc/{pid}/oom_score_adj").read())
                except (OSError, ValueError):
                    pass
    return 0


def main():
    # The harness (this runner and the shell that started it) must outlive
    # any kill; what it starts gets ordinary values below.
    for pid in (os.getpid(), os.getppid()):
        with open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write("-1000")
    result["systemd_pid1"] = os.readlink("/proc/1/exe").endswith("systemd")
    wait_for("the user manager's bus", lambda: os.path.exists(f"{RUNTIME}/bus"), 60)
    result["user_bus"] = os.path.exists(f"{RUNTIME}/bus")
    for app_id, text in cfg.get("desktop_files", {}).items():
        os.makedirs("/usr/share/applications", exist_ok=True)
        with open(f"/usr/share/applications/{app_id}.desktop", "w") as f:
            f.write(text)
    oom_before = vmstat("oom_kill")
    progress(f"user bus {'ready' if result['user_bus'] else 'missing'}; starting bustd")

    os.makedirs("/run/bustd", mode=0o755, exist_ok=True)
    daemon = subprocess.Popen([f"{BIN}/bustd", "-n", "--socket", SOCKET] + cfg.get("daemon_args", []),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              preexec_fn=lambda: open("/proc/self/oom_score_adj", "w").write("0"))
    daemon_lines = Lines(daemon.stdout)
    wait_for("bustd's socket", lambda: os.path.exists(SOCKET), 20)

    # The desktop's side: a notification server and bustd-notify, as the
    # user's own services.
    as_user(["systemd-run", "--user", "--unit=e2e-notifications", "--quiet", "/usr/bin/python3",
             f"{GUEST}/fake_notification_server.py", NOTIFICATIONS])
    wait_for("the notification server", lambda: any("ready" in n for n in notifications()), 60)
    as_user(["systemd-run", "--user", "--unit=e2e-bustd-notify", "--quiet", f"{BIN}/bustd-notify",
             "--config", "none", "--socket", SOCKET, "--verbose"])
    time.sleep(2)

    progress("notifier started; starting the apps")
    # The apps, with the oom_score_adj a desktop gives them.
    adjustment = str(user_service_adjustment())
    result["app_oom_score_adj"] = int(adjustment)
    units = {}
    started = now_ms()
    for unit in cfg["units"]:
        argv = ["systemd-run", "--user", "--quiet", "--collect"]
        argv += ["--scope"] if unit["kind"] == "scope" else []
        argv += [f"--unit={unit['name']}"] + [f"--property={p}" for p in unit.get("properties", [])]
        argv += ["--"] + unit["argv"]
        if unit["kind"] == "scope":
            # A scope lives as long as its command: run it in the background.
            subprocess.Popen(["/usr/sbin/runuser", "-u", USER, "--", "/usr/bin/env"]
                             + [f"{k}={v}" for k, v in user_env().items()] + argv,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                             preexec_fn=lambda: open("/proc/self/oom_score_adj", "w").write(adjustment))
        else:
            done = as_user(argv)
            if done.returncode != 0:
                print(f"e2e: {unit['name']}: {done.stderr.strip()}", flush=True)
        if not wait_for(f"{unit['name']}'s processes", lambda: len(unit_pids(unit["name"])) >= unit.get("processes", 1), 30):
            # What the user manager made of it, for the console log.
            print(as_user(["systemctl", "--user", "status", "--no-pager", unit["name"]]).stdout, flush=True)
            print(subprocess.run(["find", MANAGER, "-maxdepth", "3", "-type", "d"], capture_output=True, text=True).stdout, flush=True)
        if unit.get("oom_group") and unit_cgroup(unit["name"]):
            with open(os.path.join(unit_cgroup(unit["name"]), "memory.oom.group"), "w") as f:
                f.write("1")
        units[unit["name"]] = sorted(unit_pids(unit["name"]))
        progress(f"{unit['name']}: pids {units[unit['name']]}")
        time.sleep(unit.get("settle_s", 0.5))
    result["unit_pids"] = units
    result["unit_preferences"] = {}
    for name in units:
        path = unit_cgroup(name)
        try:
            result["unit_preferences"][name] = os.getxattr(path, "user.oomd_avoid").decode() if path else None
        except OSError:
            result["unit_preferences"][name] = None

    # Until every process of the units that must die is gone, or the timeout.
    doomed = [p for name in cfg.get("expect_dead", []) for p in units.get(name, [])]
    wait_for("the doomed units", lambda: doomed and not any(alive(p) for p in doomed), cfg.get("timeout_s", 90))
    time.sleep(cfg.get("settle_s", 3))

    result["kernel_oom_kills"] = vmstat("oom_kill") - oom_before
    result["alive"] = {name: [p for p in pids if alive(p)] for name, pids in units.items()}
    result["daemon_alive"] = daemon.poll() is None
    lines = [line for _, line in daemon_lines.lines]
    result["daemon_kill_lines"] = [l for l in lines if "killing pid" in l]
    result["daemon_victims"] = sorted({int(m) for m in re.findall(r"killing pid (\d+)", "\n".join(lines))})
    result["daemon_spared"] = [l for l in lines if "sparing pid" in l or "leaving pid" in l][:10]
    shown = [n for n in notifications() if "summary" in n]
    result["notifications"] = [n["summary"] for n in shown][:10]
    result["notification_icons"] = [n.get("icon") for n in shown][:10]
    result["elapsed_s"] = round((now_ms() - started) / 1000, 1)
    daemon.terminate()
    with open(f"{RESULTS}/result.json", "w") as f:
        f.write(json.dumps(result) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print("E2E-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    if cfg.get("package"):
        # The packages' own scenario: installed with apt, run by their units.
        os.execv("/usr/bin/python3", ["/usr/bin/python3", "-u", f"{GUEST}/package-runner.py", CONFIG])
    try:
        main()
    except Exception as error:  # report, so the host never waits for nothing
        result["runner_error"] = repr(error)
        with open(f"{RESULTS}/result.json", "w") as f:
            f.write(json.dumps(result) + "\n")
        raise
