"""What e2e/run and e2e/bench share: staging the guest's share, and one
booted run of one scenario with its facts judged (scenarios.py)."""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import scenarios  # noqa: E402


def prepare(build, flavours=("plain",), bustd=None):
    """Images, daemon binaries and helpers, staged into a read-only share of
    this session's own (out/shares/<time>-<pid>), so that a session never
    rewrites a binary that another session's guest is running. Returns the
    share; boot-guest gets it as E2E_SHARE."""
    for flavour in flavours:
        subprocess.run([f"{HERE}/build-image", flavour], check=True)
    for binary in ("bustd-notify",) if bustd else ("bustd", "bustd-notify"):
        if build or not os.path.exists(f"{REPO}/bin/{binary}"):
            subprocess.run(["make", "-C", REPO, f"bin/{binary}"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([f"{HERE}/build-helpers"], check=True)
    share = f"{HERE}/out/shares/{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    shutil.copytree(f"{HERE}/out/helpers", f"{share}/bin")
    shutil.copytree(f"{HERE}/guest", f"{share}/guest")
    # The same recording notification server as bustd-notify's own tests.
    shutil.copy2(f"{REPO}/Tests/bustdNotifyTests/Resources/fake_notification_server.py", f"{share}/guest/")
    shutil.copy2(bustd or f"{REPO}/bin/bustd", f"{share}/bin/bustd")
    shutil.copy2(f"{REPO}/bin/bustd-notify", f"{share}/bin/bustd-notify")
    # The Debian packages (make deb), for the systemd guest's package scenario.
    os.makedirs(f"{share}/debs")
    for deb in glob.glob(f"{REPO}/dist-deb/*.deb"):
        shutil.copy2(deb, f"{share}/debs/")
    os.environ["E2E_SHARE"] = share
    return share


def run_one(name, daemon, run, session_dir, extra_args=()):
    cfg = scenarios.config(name, daemon, run)
    cfg["daemon_args"] = cfg["daemon_args"] + list(extra_args)
    results = f"{session_dir}/{name}-{daemon}-{run}"
    os.makedirs(results)
    with open(f"{results}/config.json", "w") as f:
        json.dump(cfg, f)
    started = time.monotonic()
    env = dict(os.environ)
    if cfg.get("qemu_timeout_s"):
        env["E2E_QEMU_TIMEOUT"] = str(cfg["qemu_timeout_s"])
    boot = subprocess.run([f"{HERE}/boot-guest", results, cfg.get("kernel_psi", "psi=1"), cfg.get("flavour", "plain")], env=env)
    wall = round(time.monotonic() - started, 1)
    try:
        with open(f"{results}/result.json") as f:
            result = json.loads(f.readline())
    except (OSError, ValueError):
        result = {"scenario": name, "daemon": daemon, "run": run,
                  "runner_error": f"no result (qemu exit {boot.returncode}; see {results}/console.log)"}
    result["guest_wall_s"] = wall
    result["overshoot_pct"] = scenarios.overshoot_pct(cfg, result)
    if not scenarios.default_thresholds(cfg):
        result["reaction_ms"] = None  # the crossing was timed at other thresholds
    try:
        with open(f"{results}/samples.json") as f:
            samples = json.load(f)
    except (OSError, ValueError):
        samples = None
    failures = scenarios.check(cfg, result, samples)
    result["pass"] = not failures
    result["failures"] = failures
    return result


def summary(result):
    """One PASS/FAIL line for a run, with its failed assertions below it."""
    r = result
    verdict = "PASS" if r["pass"] else "FAIL"
    return (f"{verdict} {r.get('scenario')} ({r.get('daemon')}, run {r.get('run')}): "
            f"killer={r.get('killer')} kills={len(r.get('daemon_victims') or [])} exit={r.get('hog_exit')} "
            f"t={r.get('time_to_kill_s')}s all_gone={r.get('time_to_all_dead_s')}s kernel_oom={r.get('kernel_oom_kills')} "
            f"decided={r.get('decision_s')}s at avail={r.get('decision_avail_pct')}% swap={r.get('decision_swap_pct')}% "
            f"canary_worst={r.get('canary_worst_ms')}ms event_delay={r.get('kill_to_event_ms')}ms "
            f"notification_delay={r.get('kill_to_notification_ms')}ms"
            + "".join(f"\n    - {f}" for f in r.get("failures", [])))
