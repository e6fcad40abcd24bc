"""The contract between kfx and kfp.local's private internals (kfx.kfp_local), checked on the kfp installed.

kfx's local runner replaces kfp.local's task and subprocess runners, builds the executor input
kfp.local would, and reads the ``sh -ec`` command of a Python component. This module was written
for kfp 2.13.0 (:data:`WRITTEN_FOR`): on another kfp its first test fails with one sentence, and
the others say which internal moved. The last tests simulate another kfp (a changed version, a
removed attribute, a changed signature) and check the one sentence a user gets; a real one-task
pipeline runs through the real kfp.local executor.
"""

import ast
import inspect
import io
import json
import os
import subprocess
import sys

import kfp
import pytest
from kfp import dsl, local
from kfp.local import executor_input_utils, executor_output_utils, status, subprocess_task_handler, task_dispatcher

from kfx import __version__ as KFX_VERSION
from kfx import kfp_local

WRITTEN_FOR = "2.13.0"
"""The kfp whose local runner this contract describes."""

PARAMETERS = {
    task_dispatcher.run_single_task_implementation: [
        "pipeline_resource_name",
        "component_name",
        "component_spec",
        "executor_spec",
        "arguments",
        "pipeline_root",
        "runner",
        "raise_on_error",
        "block_input_artifact",
        "unique_pipeline_id",
    ],
    subprocess_task_handler.run_local_subprocess: ["full_command"],
    executor_input_utils.get_local_task_resource_name: ["component_name"],
    executor_input_utils.construct_local_task_root: ["pipeline_root", "pipeline_resource_name", "task_resource_name"],
    executor_input_utils.construct_executor_input: ["component_spec", "arguments", "task_root", "block_input_artifact"],
    executor_output_utils.artifact_list_to_dsl_artifact: ["artifact_list", "is_artifact_list"],
}
"""kfp 2.13.0's parameters of each function kfx calls, replaces or is handed the keywords of."""

KFX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "kfx")
PRIVATE = ("kfp.local.",)


def test_the_contract_is_for_the_kfp_installed():
    assert kfp_local.KFP_VERSION == WRITTEN_FOR
    assert kfp.__version__ == WRITTEN_FOR, (
        f"This contract was written for kfp {WRITTEN_FOR} and this Python has kfp {kfp.__version__}; check "
        f"kfx.kfp_local against kfp {kfp.__version__}'s kfp.local and update KFP_VERSION and this test."
    )


@pytest.mark.parametrize("function", list(PARAMETERS), ids=lambda f: f"{f.__module__}.{f.__qualname__}")
def test_each_function_kfx_uses_has_the_parameters_of_kfp_2_13(function):
    assert list(inspect.signature(function).parameters) == PARAMETERS[function]


def test_every_internal_the_adapter_names_is_there_and_nothing_else_is_used():
    assert kfp_local.missing() is None
    kfp_local.check()  # raises nothing
    assert [s.name for s in status.Status] == ["SUCCESS", "FAILURE"]
    assert (kfp_local.SUCCESS, kfp_local.FAILURE) == (status.Status.SUCCESS, status.Status.FAILURE)
    named = {f"{module}.{attribute.split('.')[0]}" for module, attribute, _ in kfp_local.INTERNALS}
    assert named == {
        "task_dispatcher.run_single_task_implementation",
        "subprocess_task_handler.run_local_subprocess",
        "subprocess_task_handler.SubprocessTaskHandler",
        "executor_input_utils.get_local_task_resource_name",
        "executor_input_utils.construct_local_task_root",
        "executor_input_utils.construct_executor_input",
        "executor_output_utils.artifact_list_to_dsl_artifact",
        "status.Status",
    }
    # kfp.local calls both runners through their modules, so replacing the module's attribute takes effect.
    handler = inspect.getsource(subprocess_task_handler.SubprocessTaskHandler.run)
    assert "run_local_subprocess(full_command=full_command)" in handler
    from kfp.local import dag_orchestrator

    assert "task_dispatcher.run_single_task_implementation(" in inspect.getsource(dag_orchestrator)


def _imports(path: str) -> list[str]:
    tree = ast.parse(open(path).read(), path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # "from kfp.local import task_dispatcher" names the private module too.
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_only_the_adapter_imports_kfp_locals_private_modules():
    public = {"kfp.local.init", "kfp.local.SubprocessRunner", "kfp.local.DockerRunner"}
    offenders = {}
    for root, _, files in os.walk(KFX):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".py") or path == os.path.join(KFX, "kfp_local.py"):
                continue
            private = [m for m in _imports(path) if m.startswith(PRIVATE) and m not in public]
            if private:
                offenders[os.path.relpath(path, KFX)] = sorted(set(private))
    assert offenders == {}


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def echo(text: str, out: dsl.Output[dsl.Artifact]) -> int:
    with open(out.path, "w") as f:
        f.write(text)
    return len(text)


def test_a_pipeline_task_goes_through_both_replacements_with_the_command_and_folders_kfx_expects(tmp_path):
    """The real kfp.local executor runs a one-task pipeline: kfx's task runner sees the task's keywords,
    names it and finds its folder; its command is the ``sh -ec`` one the warm process reads; the output
    artifacts kfx would place for a cached task are at the URIs the task writes."""
    seen = {}

    def run_task(run, **task):
        seen["keys"] = sorted(task)
        seen["name"], seen["root"] = kfp_local.task_name(task), kfp_local.task_root(task)
        seen["planned"] = kfp_local.output_artifacts(task["component_spec"], task["arguments"], seen["root"])
        outputs, task_status = run(**task)
        seen["status"] = task_status
        return outputs, task_status

    def run_command(full_command):
        seen["command"] = full_command
        return subprocess.run(full_command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode

    @dsl.pipeline(name="contract")
    def pipeline():
        echo(text="beans")

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path), raise_on_error=True)
    with kfp_local.replace_task_runner(run_task), kfp_local.replace_subprocess_runner(run_command):
        pipeline()
    # Both are kfp's own again.
    assert task_dispatcher.run_single_task_implementation is list(PARAMETERS)[0]
    assert subprocess_task_handler.run_local_subprocess is list(PARAMETERS)[1]

    assert seen["keys"] == sorted(PARAMETERS[task_dispatcher.run_single_task_implementation])
    assert seen["status"] == kfp_local.SUCCESS
    [job] = os.listdir(tmp_path)
    assert job.startswith("contract-") and seen["name"] == "echo"
    assert seen["root"] == os.path.join(str(tmp_path), job, "echo")  # kfx.lineage.recorder reads the run from it

    parts = kfp_local.python_command_parts(seen["command"])
    assert parts is not None, seen["command"][:3]
    assert parts.modules == ("kfp.dsl.executor_main",)
    assert seen["command"][2].split("_KFP_RUNTIME=true ")[1].startswith(f"{sys.executable} -m kfp.dsl.executor_main ")
    assert "def echo(text: str, out: dsl.Output[dsl.Artifact]) -> int:" in parts.source
    assert parts.arguments[0::2] == ["--executor_input", "--function_to_execute"] and parts.arguments[3] == "echo"
    assert json.loads(parts.arguments[1])["inputs"]["parameterValues"] == {"text": "beans"}

    [(name, planned)] = seen["planned"].items()
    artifact = kfp_local.dsl_artifact(planned)
    assert name == "out" and isinstance(artifact, dsl.Artifact)
    assert artifact.uri == os.path.join(seen["root"], "out")
    assert open(artifact.path).read() == "beans"  # the task wrote where the plan said


def test_other_commands_have_no_python_parts():
    assert kfp_local.python_command_parts(["sh", "-c", "echo hi"]) is None
    assert kfp_local.python_command_parts(["sh", "-ec", "echo hi", "source"]) is None
    assert kfp_local.python_command_parts(["python3", "-m", "kfp.dsl.executor_main"]) is None


# -- another kfp, simulated ---------------------------------------------------------------------------


def test_another_kfp_version_gets_one_warning_sentence_naming_both(monkeypatch):
    monkeypatch.setattr(kfp, "__version__", "2.14.0")
    sentence = (
        f"kfx {KFX_VERSION}'s local runner was written for kfp 2.13.0, and this Python has kfp 2.14.0; "
        "if a local run misbehaves, install kfp==2.13.0."
    )
    assert kfp_local.version_warning() == sentence
    err = io.StringIO()
    kfp_local.check_for_run(err)
    assert err.getvalue() == f"kfx: warning: {sentence}\n"
    monkeypatch.setattr(kfp, "__version__", WRITTEN_FOR)
    assert kfp_local.version_warning() is None


def test_a_missing_internal_is_one_kfx_error_sentence(monkeypatch):
    monkeypatch.setattr(kfp, "__version__", "2.14.0")
    monkeypatch.delattr(task_dispatcher, "run_single_task_implementation")
    with pytest.raises(kfp_local.KfpLocalMismatch) as raised:
        with kfp_local.replace_task_runner(lambda run, **task: run(**task)):
            pass
    assert str(raised.value) == (
        f"kfx {KFX_VERSION} needs kfp 2.13's local runner internals; kfp 2.14.0 lacks "
        "task_dispatcher.run_single_task_implementation; install kfp==2.13.0."
    )
    assert raised.value.exit_code == 2


def test_a_changed_signature_is_one_kfx_error_sentence_naming_the_parameter(monkeypatch):
    monkeypatch.setattr(kfp, "__version__", "2.14.0")
    monkeypatch.setattr(executor_input_utils, "construct_local_task_root", lambda root, job, task: root)
    with pytest.raises(kfp_local.KfpLocalMismatch) as raised:
        kfp_local.check()
    assert str(raised.value) == (
        f"kfx {KFX_VERSION} needs kfp 2.13's local runner internals; kfp 2.14.0 lacks "
        "executor_input_utils.construct_local_task_root's parameter pipeline_root; install kfp==2.13.0."
    )


def test_kfx_run_on_a_kfp_without_the_internals_says_so_before_any_run_folder(monkeypatch, tmp_path, capsys):
    from kfx.cli import main

    monkeypatch.setattr(kfp, "__version__", "2.14.0")
    monkeypatch.delattr(subprocess_task_handler, "run_local_subprocess")
    runs = tmp_path / "runs"
    code = main(["run", "--sample-rows", "600", "--runs-dir", str(runs), "--metadata-path", str(tmp_path / "m.db")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == (
        f"kfx: error: kfx {KFX_VERSION} needs kfp 2.13's local runner internals; kfp 2.14.0 lacks "
        "subprocess_task_handler.run_local_subprocess; install kfp==2.13.0.\n"
    )
    assert not runs.exists() or list(runs.iterdir()) == []
    assert not (tmp_path / "m.db").exists()


@pytest.mark.e2e
def test_a_run_on_another_kfp_version_warns_once_and_runs(monkeypatch, tmp_path, capsys):
    from kfp import dsl

    from kfx.components import import_dataset
    from kfx.config import Config
    from kfx.local import run_local

    monkeypatch.setattr(kfp, "__version__", "2.14.0")

    @dsl.pipeline(name="import-only")
    def import_only(sample_rows: int = 600):  # import-dataset alone: the check is the run's, not a step's
        import_dataset(source="", sample_rows=sample_rows)

    config = Config(runs_dir=str(tmp_path / "runs"), record_lineage=False, enable_caching=False)
    out = io.StringIO()
    result = run_local(config, out=out, pipeline=import_only)
    assert result.status == "complete", result.summary.get("error")
    assert "[1/1] import-dataset done in " in out.getvalue()
    warning = (
        f"kfx: warning: kfx {KFX_VERSION}'s local runner was written for kfp 2.13.0, and this Python has "
        "kfp 2.14.0; if a local run misbehaves, install kfp==2.13.0."
    )
    assert capsys.readouterr().err.splitlines().count(warning) == 1


def test_kfx_doctor_names_the_kfp_the_local_runner_was_written_for(monkeypatch, capsys):
    from kfx.cli import main

    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "kfp 2.13.0: the version kfx's local runner was written for."
    monkeypatch.setattr(kfp, "__version__", "2.14.0")
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"kfx {KFX_VERSION}'s local runner was written for kfp 2.13.0, and this Python has kfp 2.14.0; "
        "if a local run misbehaves, install kfp==2.13.0."
    )
    monkeypatch.delattr(task_dispatcher, "run_single_task_implementation")
    assert main(["doctor"]) == 1
    assert capsys.readouterr().out == (
        f"kfx {KFX_VERSION} needs kfp 2.13's local runner internals; kfp 2.14.0 lacks "
        "task_dispatcher.run_single_task_implementation; install kfp==2.13.0.\n"
    )
