"""No orphans when kfx dies: a SIGKILLed run's step ends with its whole process group, and its
half-made task folder goes (kfx.watchdog).

Real processes and real signals throughout. The fast tests kill a small stand-in for kfx that
starts a watchdog and real step groups (a step with a worker of its own, as Beam's are). The
end-to-end tests start real ``kfx run`` processes, one forking its steps from the warm process
and one starting them cold, wait until the console shows generate-statistics running (it
imports TFDV for about ten seconds), note every process below kfx, SIGKILL kfx alone, as
``kill -9`` does, and then poll for ten seconds until the step's processes are gone (they go
within a second or two: the step acts on the watchdog's SIGTERM at once). The two runs go at
once to keep the wall time down.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from beans_tasks import at
from live_run import LiveRun

from kfx import processes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATS_RUNNING = f"{at('generate-statistics')} ..."
GONE_WITHIN = 10.0
"""Seconds a killed kfx's step gets to be gone: the watchdog's grace period and then some."""


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _live() -> dict[int, list[str]]:
    """Every process that has not ended (zombies have), with its /proc stat fields from the state on."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields is not None and fields[0] not in ("Z", "X"):
                found[int(name)] = fields
    return found


def _group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    return [pid for pid, fields in _live().items() if int(fields[2]) == pgid]


def _descendants(pid: int) -> dict[int, list[str]]:
    """Every live process below ``pid``, with its /proc stat fields (state, parent, group, …)."""
    live = _live()
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, fields in live.items() if int(fields[1]) == parent]
        found.update((p, live[p]) for p in children)
        todo += children
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _until(condition, timeout: float = GONE_WITHIN) -> float:
    """Polls ``condition`` until it holds; returns the seconds it took, or fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - started


# -- the watchdog under a stand-in kfx ----------------------------------------------------------------

_STEP = """
import signal, subprocess, sys, time
if sys.argv[1] == "stubborn":  # both ignore SIGTERM: only SIGKILL after the grace period ends them
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c", sys.argv[2] + "import time; time.sleep(120)"])
print(worker.pid, flush=True)
time.sleep(120)
"""

_KFX = """
import json, os, sys, time
from kfx import processes
from kfx.events import TaskEvent
from kfx.watchdog import Watchdog

run_dir, mood, goodbye = sys.argv[1], sys.argv[2], sys.argv[3] == "goodbye"
open(os.path.join(run_dir, "pipeline.log"), "w").close()
ignore = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " if mood == "stubborn" else ""
dog = Watchdog(grace=2.0)
steps = {}
for name in ("import-dataset", "train"):
    root = os.path.join(run_dir, "job", name)
    os.makedirs(root)
    open(os.path.join(root, "half-made"), "w").close()
    event = TaskEvent(name, "running", time.time(), task_root=root)
    dog.task_started(event)
    step = processes.start_in_own_group([sys.executable, "-c", sys.argv[4], mood, ignore])
    dog.watch(step.pid)
    steps[name] = {"group": step.pid, "worker": int(step.stdout.readline())}
    if name == "import-dataset":  # it completes, and its folder and its group are kfx's again
        dog.release(step.pid)
        dog.task_finished(event)
if goodbye:
    dog.close()
print(json.dumps({"watchdog": dog.process.pid, "steps": steps}), flush=True)
time.sleep(120)
"""


class StandIn:
    """A stand-in for kfx: a watchdog, a completed step and a running one, each with a worker."""

    def __init__(self, run_dir: str, mood: str = "plain", goodbye: bool = False):
        self.run_dir = run_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _KFX, run_dir, mood, "goodbye" if goodbye else "-", _STEP],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.info = json.loads(self.proc.stdout.readline())
        self.groups = {name: step["group"] for name, step in self.info["steps"].items()}

    def folder(self, name: str) -> str:
        return os.path.join(self.run_dir, "job", name)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def clean_up(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pgid in self.groups.values():
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.parametrize("mood", ["plain", "stubborn", "stopped"])
def test_a_killed_kfx_s_running_step_group_ends_and_its_folder_goes(tmp_path, mood):
    kfx = StandIn(str(tmp_path), mood)
    try:
        running = kfx.groups["train"]
        assert len(_group(running)) == 2 and processes.start_time(kfx.info["steps"]["train"]["worker"])
        if mood == "stopped":  # as a debugger or a job stopped by hand would leave it
            os.killpg(running, signal.SIGSTOP)
            _until(lambda: all(_stat(pid)[0] == "T" for pid in _group(running)), 5)
        kfx.kill()
        seconds = _until(lambda: not _group(running) and not os.path.exists(kfx.folder("train")))
        # A step that ignores SIGTERM has the grace period (2 s here), then SIGKILL; a stopped one
        # is continued, so it acts on SIGTERM at once.
        assert (seconds >= 1.9) if mood == "stubborn" else (seconds < 1.5), seconds
        assert _until(lambda: processes.start_time(kfx.info["watchdog"]) is None, 5) < 5
        # The completed step was released: its folder and its group's processes are untouched.
        assert sorted(os.listdir(kfx.folder("import-dataset"))) == ["half-made"]
        assert len(_group(kfx.groups["import-dataset"])) == 2
        assert os.listdir(os.path.join(kfx.run_dir, "job")) == ["import-dataset"]
        log = open(os.path.join(kfx.run_dir, "pipeline.log")).read()
        assert log == (
            f"kfx: the kfx process (pid {kfx.proc.pid}) ended without finishing the run; its watchdog ended "
            f"step train's processes and removed its half-made folder {kfx.folder('train')}\n"
        )
    finally:
        kfx.clean_up()


def test_a_kfx_that_said_goodbye_leaves_its_steps_to_itself(tmp_path):
    """kfx's own cleanup (a stop, a failed step) decides what stays; the watchdog only watches for its death."""
    kfx = StandIn(str(tmp_path), goodbye=True)
    try:
        _until(lambda: processes.start_time(kfx.info["watchdog"]) is None, 5)
        kfx.kill()
        time.sleep(2.5)  # longer than the watchdog's grace period
        assert len(_group(kfx.groups["train"])) == 2
        assert os.listdir(kfx.folder("train")) == ["half-made"]
        assert open(os.path.join(kfx.run_dir, "pipeline.log")).read() == ""
    finally:
        kfx.clean_up()


def test_a_group_of_zombies_has_ended(tmp_path):
    # A step whose parent does not collect it (an init that does not reap) cannot be signalled
    # any further; waiting for it would only hold the cleanup for the whole grace period.
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        assert processes.group_alive(leader.pid)
        os.kill(leader.pid, signal.SIGKILL)
        _until(lambda: (_stat(leader.pid) or ["Z"])[0] == "Z", 5)
        assert not processes.group_alive(leader.pid)  # a zombie, not yet collected
        started = time.monotonic()
        processes.end_groups([leader.pid], grace=5)
        assert time.monotonic() - started < 1
    finally:
        leader.kill()
        leader.wait()
    assert not processes.group_alive(leader.pid)


def test_the_warm_process_outlives_a_step_that_ends_while_it_is_still_importing(monkeypatch, tmp_path):
    """A warm process that died after its first step left every later step to start cold, where
    its own group was the only thing the watchdog could end. Asked at once, while the warm process
    still imports what it preloads."""
    from kfp import dsl, local
    from kfp.local import subprocess_task_handler

    from kfx.warm import WarmServer

    @dsl.component(base_image="python:3.11", install_kfp_package=False)
    def parent(out: dsl.OutputPath(str)):
        import os

        with open(out, "w") as f:
            f.write(str(os.getppid()))

    server = WarmServer()
    forked = []

    def run(full_command):
        process = server.start(full_command)
        forked.append(process is not None)
        process = process or processes.start_in_own_group(full_command)
        for _ in process.stdout:
            pass
        process.stdout.close()
        time.sleep(0.5)  # a kfx slow to collect the step (a busy machine): the warm process imports on meanwhile
        return process.wait()

    monkeypatch.setattr(subprocess_task_handler, "run_local_subprocess", run)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path), raise_on_error=False)
    try:
        first, second = parent().output, parent().output
        assert forked == [True, True] and server.process.poll() is None
        assert first == second == str(server.process.pid)
    finally:
        server.close()


# -- real runs ----------------------------------------------------------------------------------------

_COLD = """
import sys
import kfx.warm

def no_warm_process():
    raise OSError("no warm process: every step starts cold")

kfx.warm.WarmServer = no_warm_process
from kfx.cli import main

sys.exit(main(sys.argv[1:]))
"""


def _run_dir(runs_dir: str) -> str:
    [run_dir] = [os.path.join(runs_dir, p) for p in os.listdir(runs_dir) if p.startswith("kfx-beans-")]
    return run_dir


def _task_folder(runs_dir: str, step: str) -> str:
    run_dir = _run_dir(runs_dir)
    [job] = [p for p in os.listdir(run_dir) if os.path.isdir(os.path.join(run_dir, p))]
    return os.path.join(run_dir, job, step)


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """Two runs SIGKILLed during generate-statistics, one warm and one cold.

    Returns {path: (runs dir, kfx's pid, {pid: (pgid, parent pid, cmdline)} of every process below kfx
    before the kill, {pgid: seconds from the kill until the group had no live process} for the groups that
    had none within :data:`GONE_WITHIN`)}.
    """
    started = {
        path: LiveRun(str(tmp_path_factory.mktemp(path)), ["-c", _COLD] if path == "cold" else ("-m", "kfx"))
        for path in ("warm", "cold")
    }
    below: dict[str, dict[int, tuple[int, int, str]]] = {}
    try:
        for run in started.values():
            run.wait_for(STATS_RUNNING)
        for run in started.values():
            # The step's executor has started making its folder; it imports TFDV for several seconds more.
            _until(lambda run=run: os.path.isdir(_task_folder(run.runs_dir, "generate-statistics")), 30)
        for path, run in started.items():
            below[path] = {
                pid: (int(fields[2]), int(fields[1]), _cmdline(pid))
                for pid, fields in _descendants(run.proc.pid).items()
            }
        killed = time.monotonic()
        for run in started.values():
            os.kill(run.proc.pid, signal.SIGKILL)  # kfx alone, as kill -9 does
        for run in started.values():
            run.proc.wait(timeout=10)
        groups = {pgid for processes_below in below.values() for pgid, _, _ in processes_below.values()}
        gone: dict[int, float] = {}
        while time.monotonic() - killed < GONE_WITHIN and len(gone) < len(groups):
            for pgid in groups - set(gone):
                if not _group(pgid):
                    gone[pgid] = time.monotonic() - killed
            time.sleep(0.05)
        yield {path: (run.runs_dir, run.proc.pid, below[path], gone) for path, run in started.items()}
    finally:
        for run in started.values():
            if run.proc.poll() is None:
                run.proc.kill()
        # On a kfx without a watchdog nothing ends the step: its groups are ended here.
        for processes_below in below.values():
            for pgid, _, _ in processes_below.values():
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


@pytest.mark.e2e
@pytest.mark.parametrize("path", ["warm", "cold"])
def test_a_sigkilled_run_leaves_no_step_running_and_no_half_made_folder(killed_runs, kfx_cli, path):
    runs_dir, kfx_pid, below, gone = killed_runs[path]
    helpers = {pid for pid, (_, parent, cmd) in below.items() if parent == kfx_pid and " -m kfx.w" in cmd}
    warm = [pid for pid in helpers if " -m kfx.warm " in below[pid][2]]
    # The step ran in a group of its own: forked by the warm process, or started cold by kfx.
    [step] = {pgid for pid, (pgid, _, _) in below.items() if pid not in helpers}
    assert len(warm) == (1 if path == "warm" else 0), below
    assert below[step][1] == (warm[0] if path == "warm" else kfx_pid), below

    # Every process of the step's group, and everything else kfx started, is gone within seconds.
    assert step in gone, f"the step's group still runs {GONE_WITHIN} s after kfx was killed: {_group(step)}"
    # It acts on SIGTERM at once: ended, not left to finish the step (which takes several seconds more).
    assert gone[step] < 3, gone
    assert _until(lambda: all(processes.start_time(pid) is None for pid in below), 5) < 5
    assert [below[pid][2].split()[1:3] for pid in helpers - set(warm)] == [["-m", "kfx.watchdog"]]

    # The half-made folder is gone, the completed steps' stay, and the log says what happened.
    folder = _task_folder(runs_dir, "generate-statistics")
    assert _until(lambda: not os.path.exists(folder), 5) < 5
    assert sorted(os.listdir(os.path.dirname(folder))) == ["find-model", "import-dataset"]
    log = open(os.path.join(_run_dir(runs_dir), "pipeline.log")).read()
    assert log.endswith(
        f"kfx: the kfx process (pid {kfx_pid}) ended without finishing the run; its watchdog ended step "
        f"generate-statistics's processes and removed its half-made folder {folder}\n"
    )
    assert not os.path.exists(os.path.join(_run_dir(runs_dir), "summary.json"))

    # The lineage store still reads the run as abandoned, during the step that was running.
    listed = kfx_cli("lineage", "runs", "--runs-dir", runs_dir, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(r["status"], r["stopped_step"]) for r in json.loads(listed.stdout)] == [
        ("abandoned", "generate-statistics")
    ]
