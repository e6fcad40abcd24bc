"""Clean stops: Ctrl-C, SIGTERM and SIGKILL sent to real runs, and what each leaves behind.

The fast tests run real processes under :class:`kfx.stops.Stop` (a step that starts a
worker of its own, as Beam does) and read real lineage stores. The end-to-end tests start
real ``kfx run`` processes, wait until the console shows generate-statistics running
(it imports TFDV for about ten seconds; import-dataset and find-model have completed),
and then send the signal: SIGINT to the whole process group, as a terminal's Ctrl-C
does; SIGTERM and SIGKILL to kfx alone, as ``kill`` does. The three runs go at once to
keep the wall time down.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from beans_tasks import at
from live_run import LiveRun

from kfx import processes
from kfx.stops import GRACE_SECONDS, Interrupted, Stop

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATS_RUNNING = f"{at('generate-statistics')} ..."


def _group(pgid: int) -> list[int]:
    """The live (not ended) processes of process group ``pgid``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                found.append(int(name))
    return found


def _ends(pids, timeout: float = 5.0) -> bool:
    """Whether every process in ``pids`` (a list, or a callable giving one) has ended within ``timeout``
    seconds: a killed process is still listed for a moment after it let go of its files."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in (pids() if callable(pids) else pids) if processes.start_time(p) is not None]
        if not alive or time.monotonic() > deadline:
            return not alive
        time.sleep(0.05)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(name))
            except OSError:
                continue
    return found


def _as_a_terminal_job() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _step_with_a_worker(tmp_path, ignore_term: bool) -> tuple[list[str], str]:
    """A command that starts a worker of its own, writes the worker's pid to a file and waits;
    with ``ignore_term`` both ignore SIGTERM, so only SIGKILL ends them."""
    ignore = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " if ignore_term else ""
    worker = f"{ignore}import time; time.sleep(120)"
    pid_file = str(tmp_path / "worker.pid")
    script = (
        f"{ignore}import subprocess, sys, time; w = subprocess.Popen([sys.executable, '-c', {worker!r}]); "
        f"open({pid_file!r} + '.tmp', 'w').write(str(w.pid)); "
        f"__import__('os').rename({pid_file!r} + '.tmp', {pid_file!r}); "
        "print('working', flush=True); time.sleep(120)"
    )
    return [sys.executable, "-c", script], pid_file


def _signal_when_ready(pid_file: str, *signums: int, gap: float = 0.3) -> threading.Thread:
    def send():
        deadline = time.monotonic() + 30
        while not os.path.exists(pid_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        for signum in signums:
            os.kill(os.getpid(), signum)
            time.sleep(gap)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_sigterm_ends_the_step_and_the_worker_it_started_and_raises_interrupted(tmp_path, monkeypatch, capsys):
    # Both ignore SIGTERM: the stop must come down to SIGKILL after the grace period.
    monkeypatch.setattr("kfx.stops.GRACE_SECONDS", 0.5)
    command, pid_file = _step_with_a_worker(tmp_path, ignore_term=True)
    before = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    with Stop() as stop:
        sender = _signal_when_ready(pid_file, signal.SIGTERM)
        with pytest.raises(Interrupted) as raised:
            stop.run_process(command)
    sender.join()
    assert time.monotonic() - started < 10
    assert (raised.value.signum, raised.value.exit_code, stop.signum) == (signal.SIGTERM, 143, signal.SIGTERM)
    assert isinstance(raised.value, KeyboardInterrupt)
    worker = int(open(pid_file).read())
    assert _ends([worker])  # the worker ended with the step
    assert "working" in capsys.readouterr().out
    assert signal.getsignal(signal.SIGTERM) is before
    # Once stopped, no further step starts.
    marker = tmp_path / "started"
    with pytest.raises(Interrupted):
        stop.run_process([sys.executable, "-c", f"open({str(marker)!r}, 'w')"])
    assert not marker.exists()


def test_a_second_ctrl_c_kills_at_once_instead_of_waiting_out_the_grace(tmp_path, ctrl_c_reaches_python):
    assert GRACE_SECONDS >= 5
    command, pid_file = _step_with_a_worker(tmp_path, ignore_term=True)
    started = time.monotonic()
    with Stop() as stop:
        sender = _signal_when_ready(pid_file, signal.SIGINT, signal.SIGINT)
        with pytest.raises(Interrupted) as raised:
            stop.run_process(command)
    sender.join()
    assert time.monotonic() - started < GRACE_SECONDS
    assert raised.value.exit_code == 130
    assert _ends([int(open(pid_file).read())])


def test_a_step_that_catches_sigterm_and_exits_0_is_still_canceled(tmp_path):
    ready = tmp_path / "ready"
    script = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
        f"open({str(ready)!r}, 'w'); time.sleep(60)"
    )
    with Stop() as stop:
        sender = _signal_when_ready(str(ready), signal.SIGTERM)
        with pytest.raises(Interrupted):
            stop.run_process([sys.executable, "-c", script])
    sender.join()


def test_a_step_that_ends_on_its_own_is_untouched():
    with Stop() as stop:
        assert stop.run_process([sys.executable, "-c", "print('done')"]) == 0
        assert stop.run_process([sys.executable, "-c", "raise SystemExit(3)"]) == 3
    assert not stop.requested


def test_a_signal_the_process_was_told_to_ignore_stays_ignored():
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup, or in a background job
    try:
        with Stop():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_stop_asked_for_in_code_is_a_sigint_and_the_first_signal_is_the_one_reported():
    """Stop.request is how a bare KeyboardInterrupt (a notebook's interrupt) becomes a stop; no process runs."""
    stop = Stop()
    assert not stop.requested
    stop.check()  # nothing asked: no stop
    stop.request()
    assert stop.requested and stop.signum == signal.SIGINT
    stop.request(signal.SIGTERM)  # a second request while stopping changes nothing
    with pytest.raises(Interrupted) as raised:
        stop.check()
    assert (raised.value.signum, raised.value.exit_code, str(raised.value)) == (
        signal.SIGINT,
        130,
        "Stopped by SIGINT.",
    )
    assert (Interrupted(signal.SIGHUP).exit_code, str(Interrupted(signal.SIGHUP))) == (129, "Stopped by SIGHUP.")
    assert str(Interrupted(signal.SIGTERM, message="Stopped while saving.")) == "Stopped while saving."
    assert str(Interrupted(99)) == "Stopped by signal 99."
    assert Interrupted(signal.SIGINT, result="the run").result == "the run" and Interrupted().result is None
    assert Stop().signum == 0 and Stop().requested is False


def test_a_recorded_process_is_gone_only_when_sure():
    me = processes.identity()
    assert (me["pid"], me["host"]) == (os.getpid(), socket.gethostname())
    assert abs(me["process_started"] - time.time()) < 24 * 3600
    assert not processes.is_gone(**_args(me))
    # The same pid with another start time is a later process that was given the pid.
    assert processes.is_gone(me["pid"], me["host"], me["process_started"] - 60)
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    assert processes.is_gone(ended.pid, me["host"], None)
    assert not processes.is_gone(ended.pid, "another-host", None)  # cannot be checked from here
    assert not processes.is_gone(None, me["host"], None)  # recorded by a kfx that did not record pids


def _args(identity: dict) -> dict:
    return {"pid": identity["pid"], "host": identity["host"], "started": identity["process_started"]}


def test_a_running_run_whose_process_is_gone_reads_as_abandoned(tmp_path):
    from kfx.lineage import Lineage, format_runs
    from kfx.lineage.store import LineageStore

    path = str(tmp_path / "metadata.sqlite")
    store = LineageStore(path, create=True)
    ended = subprocess.Popen([sys.executable, "-c", ""])
    ended.wait()
    me = processes.identity()
    gone = {**me, "pid": ended.pid, "process_started": None}
    runs = {"killed": gone, "going": me, "elsewhere": {**gone, "host": "another-host"}, "old": {}}
    for started, (run_id, owner) in enumerate(runs.items()):
        contexts = store.put_run_context(run_id, "kfx-beans", {"status": "running", "started": float(started), **owner})
        store.put_step(contexts, f"{run_id}/import-dataset", "complete", {"step": "import-dataset"}, [], [])
        store.put_step(contexts, f"{run_id}/generate-statistics", "running", {"step": "generate-statistics"}, [], [])
    lineage = Lineage(LineageStore(path))
    found = {r.run_id: r for r in lineage.runs()}
    assert {k: r.status for k, r in found.items()} == {
        "killed": "abandoned",
        "going": "running",
        "elsewhere": "running",
        "old": "running",
    }
    assert found["killed"].stopped_step == "generate-statistics"
    assert lineage.backend.run("killed").status == "abandoned"
    line = next(x for x in format_runs(list(found.values())).splitlines() if x.startswith("killed"))
    assert "abandoned" in line and line.endswith(
        "process gone during generate-statistics, killed or the machine stopped"
    )


def test_the_recorder_marks_the_stopped_step_canceled_and_the_run_interrupted(tmp_path):
    """Driven with the events run_local hands it: import-dataset complete, train cut short."""
    from kfp import dsl
    from ml_metadata.proto import metadata_store_pb2 as pb

    from kfx.config import Config
    from kfx.events import TaskEvent
    from kfx.lineage import Lineage, LineageError
    from kfx.lineage.recorder import LineageRecorder
    from kfx.lineage.store import LineageStore

    run_id = "kfx-beans-20260101-000000-abcd"
    config = Config(runs_dir=str(tmp_path / "runs"))
    recorder = LineageRecorder(config, run_id=run_id, draw=False)
    start = time.time()
    data = dsl.Dataset(uri=str(tmp_path / "train_data"))
    imp = TaskEvent("import-dataset", "running", start, parameters={"source": "/data/beans.csv"})
    recorder.task_started(imp)
    imp.state, imp.ended, imp.outputs = "complete", start + 1, {"train_data": data, "train_rows": 80}
    recorder.task_finished(imp)
    train = TaskEvent("train", "running", start + 1, input_artifacts={"train_data": [data]})
    recorder.task_started(train)
    train.state, train.ended = "canceled", start + 2
    train.error_kind, train.error = "Interrupted", "The run was stopped while this step ran; its outputs were removed."
    recorder.task_finished(train)
    recorder.run_finished(
        run_id, {"status": "interrupted", "run_dir": "", "stopped_step": "train", "stopped_by": "SIGTERM"}
    )
    assert recorder.error == ""

    store = LineageStore(config.resolved_metadata_path)
    run = store.run(run_id)
    assert (run.status, run.stopped_step, run.stopped_by, run.failed_step) == ("interrupted", "train", "SIGTERM", "")
    context = store.mlmd.get_context_by_type_and_name("kfx.PipelineRun", run_id)
    owner = {k: context.custom_properties[k] for k in ("pid", "host", "process_started")}
    assert (owner["pid"].int_value, owner["host"].string_value) == (os.getpid(), socket.gethostname())
    assert owner["process_started"].double_value == pytest.approx(processes.start_time(os.getpid()))
    # In ML Metadata's own terms the stopped step is CANCELED: never a result to reuse.
    states = {x.name: x.last_known_state for x in store.mlmd.get_executions_by_context(context.id)}
    assert states == {f"{run_id}/import-dataset": pb.Execution.COMPLETE, f"{run_id}/train": pb.Execution.CANCELED}
    graph = store.run_graph(run_id)
    assert graph.step("train").state == "canceled" and graph.outputs_of(graph.step("train").id) == []
    with pytest.raises(LineageError, match=r"made no model \(it was interrupted during train\)"):
        Lineage(store).show(run_id)


# -- real runs -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped_runs(tmp_path_factory):
    """Three runs stopped during generate-statistics: by SIGINT to the group, SIGTERM, SIGKILL.

    Returns {signal name: (exit code, stdout, stderr, runs dir, the step's process ids before the stop)}.
    """
    started = {
        name: LiveRun(str(tmp_path_factory.mktemp(name)), preexec_fn=_as_a_terminal_job)
        for name in ("SIGINT", "SIGTERM", "SIGKILL")
    }
    done = {}
    try:
        for name, run in started.items():
            run.wait_for(STATS_RUNNING)
            time.sleep(0.3)  # the step's process is busy importing TFDV
            # Every process below kfx: the warm process and the step it forked (with its own children).
            step = [(pid, os.getpgid(pid)) for pid in _descendants(run.proc.pid)]
            if name == "SIGINT":
                os.killpg(run.proc.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole foreground group
            else:
                os.kill(run.proc.pid, getattr(signal, name))
            done[name] = (run, step)
        yield {name: (*run.finish(), run.runs_dir, step) for name, (run, step) in done.items()}
    finally:
        for run in started.values():
            if run.proc.poll() is None:
                run.proc.kill()
        # A SIGKILLed kfx cannot end its step: the step's group is ended here.
        for _, step in done.values():
            for _, pgid in step:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _only_run(runs_dir: str) -> str:
    [run_dir] = [os.path.join(runs_dir, p) for p in os.listdir(runs_dir) if p.startswith("kfx-beans-")]
    return run_dir


@pytest.mark.e2e
@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stopped_run_ends_its_step_keeps_what_completed_and_says_interrupted(stopped_runs, name, code):
    returncode, out, err, runs_dir, step = stopped_runs[name]
    assert returncode == code, err
    run_dir = _only_run(runs_dir)
    run_id = os.path.basename(run_dir)
    summary_path = os.path.join(run_dir, "summary.json")
    seconds = json.load(open(summary_path))["seconds"]
    stopped = f"Run {run_id} stopped by {name} during generate-statistics after {seconds:.1f} s"
    assert err == f"kfx: interrupted: {stopped}; 2 completed steps kept, see {summary_path}.\n"
    lines = out.splitlines()
    assert lines[:6] == [
        f"{at('import-dataset')} ...",
        lines[1],
        f"{at('find-model')} ...",
        lines[3],
        STATS_RUNNING,
        lines[5],
    ]
    assert lines[1].startswith(f"{at('import-dataset')} done in ")
    assert lines[3].startswith(f"{at('find-model')} done in ") and lines[3].endswith(": found=False")
    assert lines[5].startswith(f"{at('generate-statistics')} interrupted after ")
    assert lines[6] == f"Run {run_id} interrupted during generate-statistics after {seconds:.1f} s"
    assert "Traceback" not in out + err

    # The step, and all of its process group, is gone.
    assert step and all(_ends(lambda pgid=pgid: _group(pgid)) for _, pgid in step)

    summary = json.load(open(summary_path))
    assert (summary["status"], summary["stopped_step"], summary["stopped_by"]) == (
        "interrupted",
        "generate-statistics",
        name,
    )
    assert [(s["name"], s["state"]) for s in summary["steps"]] == [
        ("import-dataset", "complete"),
        ("find-model", "complete"),
        ("generate-statistics", "canceled"),
    ]
    assert summary["champion"]["found"] is False
    assert summary["rows"] == {"train": 479, "validation": 60, "test": 60} and summary["statistics"] is None
    # The completed step's outputs stay; the stopped step's folder is gone.
    [job] = [p for p in os.listdir(run_dir) if os.path.isdir(os.path.join(run_dir, p))]
    assert sorted(os.listdir(os.path.join(run_dir, job))) == ["find-model", "import-dataset"]
    for split in ("train_data", "validation_data", "test_data"):
        assert os.path.getsize(summary["artifacts"][f"import-dataset/{split}"]) > 1000
    assert sorted(summary["artifacts"]) == [
        "find-model/registered_model",
        "import-dataset/test_data",
        "import-dataset/train_data",
        "import-dataset/validation_data",
    ]
    assert f"kfx: stopped by {name}" in open(summary["log"]).read()

    from kfx.lineage import Lineage, format_runs
    from kfx.lineage.store import LineageStore

    lineage = Lineage(LineageStore(os.path.join(runs_dir, "metadata.sqlite")))
    [run] = lineage.runs()
    assert (run.run_id, run.status, run.stopped_step, run.stopped_by) == (
        run_id,
        "interrupted",
        "generate-statistics",
        name,
    )
    graph = lineage.run_graph(run_id)
    assert {x.step: x.state for x in graph.executions.values()} == {
        "import-dataset": "complete",
        "find-model": "complete",
        "generate-statistics": "canceled",
    }
    assert (
        graph.step("generate-statistics").outputs == {} and graph.outputs_of(graph.step("generate-statistics").id) == []
    )
    assert "stopped while this step ran" in graph.step("generate-statistics").error
    assert format_runs([run]).splitlines()[1].endswith(f"stopped by {name} during generate-statistics")


@pytest.mark.e2e
def test_a_killed_run_reads_as_abandoned(stopped_runs, kfx_cli):
    returncode, out, err, runs_dir, _ = stopped_runs["SIGKILL"]
    assert returncode == -signal.SIGKILL
    run_id = os.path.basename(_only_run(runs_dir))
    assert not os.path.exists(os.path.join(runs_dir, run_id, "summary.json"))
    listed = kfx_cli("lineage", "runs", "--runs-dir", runs_dir)
    assert listed.returncode == 0, listed.stderr
    row = listed.stdout.splitlines()[1].split()
    assert row[:2] == [run_id, "abandoned"]
    assert listed.stdout.rstrip().endswith("process gone during generate-statistics, killed or the machine stopped")
    as_json = json.loads(kfx_cli("lineage", "runs", "--runs-dir", runs_dir, "--json").stdout)
    assert [(r["status"], r["stopped_step"]) for r in as_json] == [("abandoned", "generate-statistics")]


@pytest.mark.e2e
def test_ctrl_c_in_a_notebook_interrupts_run_local_and_leaves_a_clean_run(tmp_path, ctrl_c_reaches_python):
    """In Python (a notebook, a script) Ctrl-C is SIGINT to this process; run_local raises
    Interrupted, a KeyboardInterrupt, once the run is cleaned up."""
    import io

    from kfx.config import Config
    from kfx.events import Listener
    from kfx.local import run_local

    groups: list[int] = []

    class CtrlC(Listener):
        def task_started(self, event):
            if event.name == "generate-statistics":

                def press():
                    time.sleep(1.0)
                    groups.extend(os.getpgid(pid) for pid in _children(os.getpid()))
                    os.kill(os.getpid(), signal.SIGINT)

                threading.Thread(target=press, daemon=True).start()

    out = io.StringIO()
    config = Config(sample_rows=600, runs_dir=str(tmp_path / "runs"), record_lineage=False)
    with pytest.raises(KeyboardInterrupt) as raised:
        run_local(config, out=out, listeners=[CtrlC()])
    assert isinstance(raised.value, Interrupted) and raised.value.exit_code == 130
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    result = raised.value.result
    assert (result.status, result.summary["stopped_step"]) == ("interrupted", "generate-statistics")
    assert [(e.name, e.state) for e in result.events] == [
        ("import-dataset", "complete"),
        ("find-model", "complete"),
        ("generate-statistics", "canceled"),
    ]
    assert not os.path.exists(result.events[2].task_root)
    assert os.path.isdir(result.events[0].task_root) and os.path.isdir(result.events[1].task_root)
    assert json.load(open(os.path.join(result.run_dir, "summary.json")))["status"] == "interrupted"
    assert groups and all(_ends(lambda pgid=pgid: _group(pgid)) for pgid in groups)
    assert out.getvalue().splitlines()[-1].startswith(f"{at('generate-statistics')} interrupted after ")


class _Watched:
    """The run's watchdog as a step's process sees it: told the group to watch, then to release; ``then``
    runs at the release (the step's output has ended; its exit status is not yet collected)."""

    def __init__(self, then=None):
        self.calls: list[tuple[str, int]] = []
        self.then = then

    def watch(self, pgid: int) -> None:
        self.calls.append(("watch", pgid))

    def release(self, pgid: int) -> None:
        self.calls.append(("release", pgid))
        if self.then:
            self.then()


def test_a_steps_lines_are_printed_as_written_and_its_group_is_watched_then_released(capsys):
    stop, watched = Stop(), _Watched()
    stop.watchdog = watched
    code = stop.run_process([sys.executable, "-c", "import os; print('a'); print('b', flush=True); print(os.getpid())"])
    out = capsys.readouterr().out
    lines = out.split("\n")
    assert code == 0 and lines[:2] == ["a", "b"] and out.endswith("\n\n\n")
    pid = int(lines[2])  # the step leads its own process group: the group is its pid
    assert watched.calls == [("watch", pid), ("release", pid)]


def test_a_step_that_ended_on_its_own_keeps_its_result_when_the_stop_comes_after_it(capsys):
    """A stop asked for once the step's output has ended, before kfx collects its status: a success stands,
    a failure is the stop's."""
    stop = Stop()
    stop.watchdog = _Watched(then=lambda: stop.request(signal.SIGTERM))
    assert stop.run_process([sys.executable, "-c", "print('done')"]) == 0
    failed = Stop()
    failed.watchdog = _Watched(then=lambda: failed.request(signal.SIGTERM))
    with pytest.raises(Interrupted) as raised:
        failed.run_process([sys.executable, "-c", "raise SystemExit(3)"])
    assert raised.value.signum == signal.SIGTERM


def test_a_stop_that_comes_while_the_step_is_being_started_ends_it(capsys):
    """The signal arrives before kfx knows the step's process (here while the warm process declines to start
    it): the process, once started, is ended at once, not left to finish."""
    stop = Stop()

    class Declines:
        def start(self, command):
            stop.request(signal.SIGTERM)
            return None  # the step starts in a group of its own

    stop.warm = Declines()
    started = time.monotonic()
    with pytest.raises(Interrupted) as raised:
        stop.run_process([sys.executable, "-c", "import time; time.sleep(20)"])
    assert raised.value.signum == signal.SIGTERM and time.monotonic() - started < 15
    # The grace timer must not keep kfx alive once it is done: it runs as a daemon thread.
    assert stop._timer is not None and stop._timer.daemon is True


def test_a_console_that_breaks_while_a_step_runs_ends_the_steps_group(monkeypatch):
    """kfx's own output failing (a closed pipe) while a step runs: the error is kfx's to report, and the
    step's group is ended rather than left to run on unwatched."""
    import io

    class Broken(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    stop, watched = Stop(), _Watched()
    stop.watchdog = watched
    started = time.monotonic()
    monkeypatch.setattr(sys, "stdout", Broken())
    with pytest.raises(BrokenPipeError):
        stop.run_process([sys.executable, "-c", "import time; print('first', flush=True); time.sleep(20)"])
    monkeypatch.undo()
    assert time.monotonic() - started < 15
    assert _group(watched.calls[0][1]) == []
