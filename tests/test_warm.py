"""The warm process (kfx.warm): kfp.local's real component commands, forked from a process that
has imported what steps share; real processes, no mocks."""

import os
import signal
import time

import pytest
from beans_tasks import NAMES
from kfp import dsl, local
from kfp.local import subprocess_task_handler

from kfx import processes
from kfx.warm import WarmServer, step_arguments


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def report(out: dsl.OutputPath(str), fail: bool, sleep: float):
    import os
    import sys
    import time

    print("step says hello", flush=True)
    with open(out, "w") as f:
        f.write(
            f"{os.getpid()} {os.getppid()} {os.getpgid(0)} {os.environ.get('_KFP_RUNTIME')} "
            f"{'sklearn.base' in sys.modules}"
        )
    time.sleep(sleep)
    if fail:
        raise SystemExit(3)


def has_imported_scikit_learn(pid: int) -> bool:
    """Whether the warm process ``pid`` has loaded sklearn.svm's extension (PRELOAD imports sklearn.base before)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "/sklearn/svm/_libsvm." in f.read()
    except OSError:
        return False


@pytest.fixture
def server():
    warm = WarmServer()
    # A step asked for earlier starts with less imported. That takes about 3 s on a quiet machine,
    # much longer on a busy one (other tests running beside these), so wait for it, not for a time.
    deadline = time.monotonic() + 120
    while not has_imported_scikit_learn(warm.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    yield warm
    warm.close()


def run_through(server, monkeypatch, tmp_path, end=None, **arguments):
    """Runs ``report`` with kfp.local, its command started by the warm process (and ended by ``end``
    if given); returns the process, its output and the task."""
    started, lines = [], []

    def run(full_command):
        process = server.start(full_command)
        assert process is not None, "a kfp.local component command is one the warm process runs"
        started.append(process)
        if end is not None:
            end(process)
        lines.extend(process.stdout)
        process.stdout.close()
        return process.wait()

    monkeypatch.setattr(subprocess_task_handler, "run_local_subprocess", run)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path), raise_on_error=False)
    task = report(**arguments)
    return started[0], "".join(lines), task


def test_a_step_is_forked_by_the_warm_process_and_runs_as_kfp_would(server, monkeypatch, tmp_path):
    process, output, task = run_through(server, monkeypatch, tmp_path, fail=False, sleep=0.0)
    assert process.returncode == 0
    assert "step says hello" in output
    pid, parent, group, runtime, preloaded = task.outputs["out"].split()
    # A child of the warm process, leading its own process group, in kfp's runtime environment,
    # with scikit-learn already imported.
    assert int(pid) == process.pid and int(parent) == server.process.pid and int(group) == process.pid
    assert runtime == "true" and preloaded == "True"


def test_a_failing_step_reports_its_exit_status(server, monkeypatch, tmp_path):
    process, output, _ = run_through(server, monkeypatch, tmp_path, fail=True, sleep=0.0)
    assert process.returncode == 3
    assert "step says hello" in output


def test_a_forked_step_is_ended_with_its_group_and_collected_only_when_waited_for(server, monkeypatch, tmp_path):
    seen = {}

    def end(process):
        time.sleep(1)  # the step is sleeping
        seen["running"] = not processes.has_exited(process)
        started = time.monotonic()
        seen["status"] = processes.end_group(process, grace=5)
        seen["seconds"] = time.monotonic() - started

    process, _, _ = run_through(server, monkeypatch, tmp_path, end=end, fail=False, sleep=60.0)
    assert seen["running"] and seen["status"] == -signal.SIGTERM and seen["seconds"] < 5
    assert process.returncode == -signal.SIGTERM
    # Collected by the warm process once waited for (between two of its imports): the pid is free.
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{process.pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{process.pid}")


def test_commands_other_than_kfps_start_as_fresh_processes(server):
    assert step_arguments(["sh", "-c", "echo hi"]) is None
    assert step_arguments(["python3", "-m", "kfp.dsl.executor_main"]) is None
    assert server.start(["sh", "-ec", "echo hi", "x"]) is None


def test_close_ends_the_warm_process():
    warm = WarmServer()
    warm.close()
    assert warm.process.returncode is not None


@pytest.mark.e2e
def test_a_run_goes_on_with_fresh_processes_where_the_warm_process_cannot_start(monkeypatch, tmp_path):
    import io

    import kfx.warm
    from kfx.config import Config
    from kfx.local import run_local

    def refuse():
        raise OSError("no Unix sequenced-packet sockets here")

    monkeypatch.setattr(kfx.warm, "WarmServer", refuse)
    out = io.StringIO()
    result = run_local(Config(runs_dir=str(tmp_path), sample_rows=600, record_lineage=False), out=out)
    assert result.status == "complete", out.getvalue()
    assert [e.state for e in result.events] == ["complete"] * len(NAMES)
