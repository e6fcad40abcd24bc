"""Step caching on the local target (kfx.cache): keys and digests, then real kfp.local runs on a real store.

The end-to-end tests share one cold run of a 600-row beans table read from a CSV file
(``cold``, which pushes v1) and the identical re-run after it (``after_push``, which
sees v1 as the champion where the cold run saw none), and run in file order: the early
ones reuse those runs as they were written; later ones change what they depend on (a
parameter, an output file, the registry, the code version, the source file) and check
the step that depends on it runs again. find-model looks the champion up in every run.
"""

from __future__ import annotations

import io
import json
import os
import shutil

import pytest
from beans_tasks import NAMES as STEP_NAMES
from beans_tasks import at
from kfp import dsl

from kfx import cache, digests, disk
from kfx.config import Config
from kfx.events import TaskEvent

NAMES = list(STEP_NAMES)
CHAMPION_READERS = ("validate-statistics", "evaluate", "push-model")
"""The steps that read find-model's champion: they run again when it names another version."""
REUSED = {name: "complete" if name == "find-model" else "cached" for name in NAMES}
"""The states of a run that changed nothing since the last: the registry lookup runs every time."""


# -- keys and digests (no pipeline) ----------------------------------------------------------------


def test_a_content_digest_depends_on_content_and_names_not_on_place_or_time(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "x.txt").write_text("one")
        (folder / "y.txt").write_text("two")
    os.utime(b / "y.txt", (0, 0))
    assert digests.content_digest(str(a)) == digests.content_digest(str(b))
    assert digests.content_digest(str(a / "y.txt")) == digests.content_digest(str(b / "y.txt"))
    assert digests.content_digest(str(a / "y.txt")) != digests.content_digest(str(a))
    (b / "y.txt").write_text("two!")
    assert digests.content_digest(str(a)) != digests.content_digest(str(b))
    (b / "y.txt").rename(b / "z.txt")
    (b / "z.txt").write_text("two")
    assert digests.content_digest(str(a)) != digests.content_digest(str(b))
    assert digests.content_digest(str(tmp_path / "nothing")) == digests.MISSING
    assert digests.content_digest(str(a / "y.txt")).startswith("sha256:")


def test_the_code_version_is_stable_and_follows_the_kfx_version(monkeypatch):
    import kfx

    first = digests.code_version()
    assert first == digests.code_version() and first.startswith("sha256:")
    monkeypatch.setattr(kfx, "__version__", "99.0.0")
    assert digests.code_version() != first


def _task():
    """What kfp.local hands its task runner for the train component, as the cache reads it."""
    from kfx.components import train

    spec = train.pipeline_spec
    component_spec = next(iter(spec.components.values()))
    executor = spec.deployment_spec["executors"][component_spec.executor_label]
    from kfp.local import utils

    return {"component_spec": component_spec, "executor_spec": utils.struct_to_executor_spec(executor), "arguments": {}}


def test_the_key_follows_parameters_input_content_and_files_parameters_name(tmp_path):
    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    elsewhere = tmp_path / "copy"
    shutil.copy(split, elsewhere)

    def key(parameters, uri=str(split)):
        event = TaskEvent(
            "train", "running", 0.0, parameters=parameters, input_artifacts={"train_data": [dsl.Dataset(uri=uri)]}
        )
        # A cache per key: a run's cache remembers the digest of each output it has seen.
        steps = cache.StepCache(None, reuse=True)
        found = steps.key(event, _task())
        assert steps.error == ""
        return found

    base = key({"svm_c": 10.0, "seed": 42})
    assert key({"svm_c": 10.0, "seed": 42}) == base
    assert key({"svm_c": 2.0, "seed": 42}) != base
    # An input is known by its content, not its place: the same bytes elsewhere give the same key.
    assert key({"svm_c": 10.0, "seed": 42}, str(elsewhere)) == base
    split.write_text("a,b\n1,3\n")
    assert key({"svm_c": 10.0, "seed": 42}) != base
    # A parameter that names a local file brings in the file's content.
    source = tmp_path / "table.csv"
    source.write_text("x\n1\n")
    with_file = key({"source": str(source)})
    source.write_text("x\n2\n")
    assert key({"source": str(source)}) != with_file


def test_recorded_artifact_properties_carry_the_digests_of_the_artifact_and_of_what_its_metadata_names():
    from kfx.lineage.records import artifact_record

    pushed = dsl.Artifact(uri="/runs/r/job/push-model/pushed_model")
    pushed.metadata.update(pushed=True, version=3.0, uri="/registry/beans/v3", model_name="beans")
    record = artifact_record(
        "r",
        "push-model",
        "pushed_model",
        pushed,
        {"pushed_model": "sha256:a", "pushed_model.uri": "sha256:b", "model": "sha256:c"},
    )
    assert record.properties["digest"] == "sha256:a" and record.properties["digest:uri"] == "sha256:b"
    assert {k: record.properties[k] for k in pushed.metadata} == dict(pushed.metadata)


@pytest.mark.parametrize(
    "flag, expected", [([], True), (["--no-cache"], False), (["--cache"], True), (["--no-enable-caching"], False)]
)
def test_cache_flags_set_the_one_config_field(flag, expected):
    import argparse

    from kfx.commands.options import add_config_arguments, config_from_args
    from kfx.commands.run import RUN_OPTIONS

    parser = argparse.ArgumentParser()
    add_config_arguments(parser, RUN_OPTIONS)
    assert config_from_args(parser.parse_args(flag)).enable_caching is expected


def test_only_executions_that_completed_are_candidates(tmp_path):
    """The store hands back complete and cached executions with a key, never running or failed ones."""
    from kfx.lineage.recorder import LineageRecorder

    recorder = LineageRecorder(Config(runs_dir=str(tmp_path)), run_id="run-a", draw=False)
    accuracy = 0.9264782276546982
    for name, state in (("train", "complete"), ("evaluate", "failed"), ("push-model", "running")):
        model = dsl.Model(uri=str(tmp_path / name))
        model.metadata.update(test_accuracy=accuracy, framework="scikit-learn")
        event = TaskEvent(name, "running", 0.0, cache_key=f"key-{name}")
        recorder.task_started(event)
        if state != "running":
            event.state, event.ended = state, 1.0
            event.outputs = {"model": model, "validation_accuracy": accuracy} if state == "complete" else {}
            event.digests = {"model": "sha256:m"}
            recorder.task_finished(event)
    assert recorder.error == ""
    [(execution, outputs, exact)] = recorder.store.reusable_executions("key-train")
    assert (execution.name, execution.state) == ("run-a/train", "complete")
    assert outputs["model"].properties["digest"] == "sha256:m"
    # ML Metadata's SQLite store keeps 6 digits of a double; the exact record keeps them all.
    assert outputs["model"].properties["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert exact == {
        "values": {"validation_accuracy": accuracy},
        "metadata": {"model": {"test_accuracy": accuracy, "framework": "scikit-learn"}},
    }
    assert recorder.store.reusable_executions("key-evaluate") == []
    assert recorder.store.reusable_executions("key-push-model") == []
    assert recorder.store.reusable_executions("no-such-key") == []


def _train_event(split, root, **parameters) -> TaskEvent:
    return TaskEvent(
        "train",
        "running",
        0.0,
        parameters=parameters or {"svm_c": 10.0, "seed": 42},
        input_artifacts={"train_data": [dsl.Dataset(uri=str(split))]},
        task_root=str(root),
    )


def _train_task(split) -> dict:
    """_task() with the arguments kfp.local passes: every input artifact (the split) and parameter."""
    task = _task()
    inputs = task["component_spec"].input_definitions
    task["arguments"] = {
        **{name: dsl.Dataset(uri=str(split)) for name in inputs.artifacts},
        **{name: 1 for name in inputs.parameters},
    }
    return task


def _record_train(tmp_path, name="train", **values):
    """A store holding one complete execution of train's component as task ``name`` (run-a), made through the
    cache's hooks as a run makes it: (store, its split, the event). ``values`` replace its output values."""
    from kfx.lineage.recorder import LineageRecorder

    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    recorder = LineageRecorder(Config(runs_dir=str(tmp_path / "runs")), run_id="run-a", draw=False)
    steps = cache.StepCache(recorder.store, reuse=True)
    event = _train_event(split, tmp_path / "run-a" / name)
    event.name = name
    assert steps.before(event, _train_task(split)) is None  # an empty store: the step runs
    recorder.task_started(event)
    model = dsl.Model(uri=str(tmp_path / "run-a" / name / "model"))
    os.makedirs(model.uri)
    with open(os.path.join(model.uri, "model.joblib"), "wb") as f:
        f.write(b"fitted")
    model.metadata.update(framework="scikit-learn")
    event.state, event.ended = "complete", 1.0
    event.outputs = {"model": model, "validation_accuracy": 0.9264782276546982, "test_accuracy": 1.0, **values}
    steps.after(event)
    recorder.task_finished(event)
    assert recorder.error == "" and steps.error == "" and steps.not_kept == []
    return recorder.store, split, event


@pytest.fixture
def recorded_train(tmp_path):
    """A store holding one complete execution of train (run-a), made through the cache's hooks as a run makes it."""
    return _record_train(tmp_path)


def test_an_output_value_read_back_is_cast_to_the_type_its_component_declares():
    """The store's JSON hands back 3.0 for an int and 1 for a bool: kfp.local hands the declared type on."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    kinds = pipeline_spec_pb2.ParameterType.ParameterTypeEnum
    cast = cache._cast
    assert type(cast(3.0, kinds.NUMBER_INTEGER)) is int and cast(3.0, kinds.NUMBER_INTEGER) == 3
    assert type(cast(2, kinds.NUMBER_DOUBLE)) is float
    assert cast(1, kinds.BOOLEAN) is True and cast(0, kinds.BOOLEAN) is False
    assert cast(7, kinds.STRING) == "7"
    assert cast({"a": 1}, kinds.STRUCT) == {"a": 1}  # a type with no cast is handed on as read


def test_a_completed_step_is_reused_as_a_copy_with_its_exact_values(tmp_path, recorded_train):
    store, split, first = recorded_train
    assert first.digests == {"model": digests.content_digest(first.outputs["model"].uri)}
    event = _train_event(split, tmp_path / "run-b" / "train")
    reused = cache.StepCache(store, reuse=True).before(event, _train_task(split))
    assert event.cache_key == first.cache_key and event.cached_from == "run-a/train"
    assert set(reused) == {"model", "validation_accuracy", "test_accuracy"}
    # The exact values, as the types kfp.local hands on: 1.0 stays a float, not the int JSON could make of it.
    assert reused["validation_accuracy"] == 0.9264782276546982
    assert reused["test_accuracy"] == 1.0 and type(reused["test_accuracy"]) is float
    placed = reused["model"]
    assert placed.uri == str(tmp_path / "run-b" / "train" / "model")
    with open(os.path.join(placed.uri, "model.joblib"), "rb") as f:
        assert f.read() == b"fitted"
    assert not os.path.samefile(
        os.path.join(placed.uri, "model.joblib"), os.path.join(first.outputs["model"].uri, "model.joblib")
    )
    assert placed.metadata["framework"] == "scikit-learn"
    assert event.digests == first.digests


def test_a_reused_execution_is_named_by_where_its_outputs_came_from(tmp_path, recorded_train):
    """A cached execution is reused in turn, and names the execution that made the outputs."""
    from kfx.lineage.recorder import LineageRecorder

    store, split, first = recorded_train
    recorder = LineageRecorder(Config(runs_dir=str(tmp_path / "runs")), run_id="run-b", draw=False)
    steps = cache.StepCache(recorder.store, reuse=True)
    event = _train_event(split, tmp_path / "run-b" / "train")
    recorder.task_started(event)
    event.outputs = steps.before(event, _train_task(split))
    event.state, event.ended = "cached", 1.0
    recorder.task_finished(event)
    later = _train_event(split, tmp_path / "run-c" / "train")
    assert cache.StepCache(recorder.store, reuse=True).before(later, _train_task(split)) is not None
    assert later.cached_from == "run-a/train"


def test_no_reuse_when_turned_off_for_the_run_or_the_task_or_another_input(tmp_path, recorded_train):
    store, split, first = recorded_train
    off = _train_event(split, tmp_path / "off" / "train")
    assert cache.StepCache(store, reuse=False).before(off, _train_task(split)) is None
    assert off.cache_key == first.cache_key and off.cached_from == ""  # the key is still worked out
    steps = cache.StepCache(store, reuse=True)
    steps.uncached = frozenset({"train"})
    assert steps.before(_train_event(split, tmp_path / "uncached" / "train"), _train_task(split)) is None
    other = _train_event(split, tmp_path / "other" / "train", svm_c=2.0, seed=42)
    assert cache.StepCache(store, reuse=True).before(other, _train_task(split)) is None
    assert other.cache_key.startswith("sha256:") and other.cache_key != first.cache_key
    assert not os.path.exists(tmp_path / "off" / "train" / "model")


def test_an_output_changed_since_its_step_is_not_reused_and_leaves_nothing_placed(tmp_path, recorded_train):
    store, split, first = recorded_train
    with open(os.path.join(first.outputs["model"].uri, "model.joblib"), "ab") as f:
        f.write(b" and edited")
    event = _train_event(split, tmp_path / "run-b" / "train")
    assert cache.StepCache(store, reuse=True).before(event, _train_task(split)) is None
    assert event.cached_from == "" and event.digests == {}
    assert not os.path.exists(tmp_path / "run-b" / "train")


def test_a_file_read_while_the_step_ran_that_changed_drops_the_key_and_the_run_says_so(tmp_path, capsys):
    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    steps = cache.StepCache(None, reuse=True)
    event = _train_event(split, tmp_path / "run" / "train")
    assert steps.before(event, _task()) is None and event.cache_key
    split.write_text("a,b\n1,3\n")
    event.state = "complete"
    steps.after(event)
    assert event.cache_key == ""
    assert steps.not_kept == [
        f"{split} (input train_data) changed while train ran, "
        "so its outputs stay in this run but no later run reuses them"
    ]
    summary: dict = {}
    steps.run_finished("run-x", summary)
    assert summary == {"cache_not_kept": steps.not_kept}
    assert capsys.readouterr().err == f"kfx: warning: {steps.not_kept[0]}\n"


def test_a_caching_error_is_said_once_and_the_later_steps_run_without_the_cache(tmp_path, capsys):
    steps = cache.StepCache(None, reuse=True)
    task = _task()
    broken = dict(task, component_spec=None)  # a task the key cannot be worked out for
    event = _train_event(tmp_path / "none", tmp_path / "run" / "train")
    assert steps.before(event, broken) is None
    assert steps.error.startswith("AttributeError: ") and steps.error.endswith(
        "; the steps after it ran without the cache"
    )
    first_error = steps.error
    later = _train_event(tmp_path / "none", tmp_path / "run" / "train")
    assert steps.before(later, task) is None and later.cache_key == "" and steps.error == first_error
    summary: dict = {}
    steps.run_finished("run-x", summary)
    assert summary == {"cache_error": first_error}
    assert capsys.readouterr().err == f"kfx: warning: step caching stopped in run run-x: {first_error}\n"


def test_the_cache_of_a_run_opens_the_store_only_when_there_is_one_to_read(tmp_path):
    from kfx.lineage.store import LineageStore

    config = Config(runs_dir=str(tmp_path / "runs"))
    assert cache.open_cache(config, None) is None  # no store yet: nothing to reuse
    assert cache.open_cache(Config(runs_dir=str(tmp_path / "runs"), enable_caching=False), None) is None
    os.makedirs(os.path.dirname(config.resolved_metadata_path), exist_ok=True)
    with open(config.resolved_metadata_path, "w") as f:
        f.write("not a database")
    unusable = cache.open_cache(config, None)
    assert unusable.store is None and unusable.reuse is False
    assert unusable.error.startswith("LineageError: ") and "metadata.sqlite" in unusable.error
    os.remove(config.resolved_metadata_path)
    LineageStore(config.resolved_metadata_path, create=True)
    opened = cache.open_cache(config, None, frozenset({"push-model"}))
    assert opened.reuse is True and opened.store is not None and opened.uncached == frozenset({"push-model"})
    assert opened.error == ""
    store = LineageStore(str(tmp_path / "own.sqlite"), create=True)
    off = cache.open_cache(Config(runs_dir=str(tmp_path / "runs"), enable_caching=False), store)
    assert off.store is store and off.reuse is False


def _push_task() -> dict:
    """What kfp.local hands its task runner for the push_model component, with every argument."""
    from kfp.local import utils

    from kfx.components import push_model

    spec = push_model.pipeline_spec
    component_spec = next(iter(spec.components.values()))
    executor = spec.deployment_spec["executors"][component_spec.executor_label]
    inputs = component_spec.input_definitions
    return {
        "component_spec": component_spec,
        "executor_spec": utils.struct_to_executor_spec(executor),
        "arguments": {
            **{name: dsl.Artifact(uri="unused") for name in inputs.artifacts},
            **dict.fromkeys(inputs.parameters, 1),
        },
    }


def _record_push(tmp_path, key: str = "uri"):
    """A store holding one complete push-model execution whose registry version (outside the run folder),
    ``tmp_path/registry/beans/v1``, is named by the metadata key ``key`` of its ``pushed_model``:
    (store, that version folder, the event)."""
    from kfx.lineage.recorder import LineageRecorder

    version = tmp_path / "registry" / "beans" / "v1"
    version.mkdir(parents=True)
    (version / "model.joblib").write_bytes(b"pushed")
    recorder = LineageRecorder(Config(runs_dir=str(tmp_path / "runs")), run_id="run-a", draw=False)
    steps = cache.StepCache(recorder.store, reuse=True)
    event = TaskEvent("push-model", "running", 0.0, parameters={"model_name": "beans"}, task_root=str(tmp_path / "a"))
    assert steps.before(event, _push_task()) is None
    recorder.task_started(event)
    pushed = dsl.Artifact(uri=str(tmp_path / "a" / "pushed_model"))
    os.makedirs(os.path.dirname(pushed.uri))
    with open(pushed.uri, "w") as f:
        f.write('{"pushed": true}')
    pushed.metadata.update({"pushed": True, "version": 1, key: str(version), "model_name": "beans"})
    event.state, event.ended = "complete", 1.0
    event.outputs = {"pushed_model": pushed, "pushed": True, "version": 1}
    steps.after(event)
    recorder.task_finished(event)
    assert recorder.error == "" and steps.error == ""
    assert event.digests[f"pushed_model.{key}"] == digests.content_digest(str(version))
    return recorder.store, version, event


@pytest.fixture
def recorded_push(tmp_path):
    """:func:`_record_push` as push-model records it (``pushed_model.uri``)."""
    return _record_push(tmp_path)


def test_a_push_is_reused_with_its_registry_version_while_that_version_holds_what_was_pushed(tmp_path, recorded_push):
    store, version, first = recorded_push
    event = TaskEvent("push-model", "running", 0.0, parameters={"model_name": "beans"}, task_root=str(tmp_path / "b"))
    reused = cache.StepCache(store, reuse=True).before(event, _push_task())
    assert reused is not None and event.cached_from == "run-a/push-model"
    assert (reused["pushed"], reused["version"]) == (True, 1) and type(reused["version"]) is int
    assert reused["pushed_model"].metadata["uri"] == str(version)
    with open(reused["pushed_model"].uri) as f:
        assert f.read() == '{"pushed": true}'
    assert event.digests == first.digests
    assert event.digests["pushed_model.uri"] == digests.content_digest(str(version))


@pytest.mark.parametrize("change", ["edited", "removed"])
def test_a_push_whose_registry_version_changed_or_went_away_is_not_reused(tmp_path, recorded_push, change):
    store, version, _ = recorded_push
    if change == "edited":
        (version / "model.joblib").write_bytes(b"another model")
    else:
        shutil.rmtree(version)
    event = TaskEvent("push-model", "running", 0.0, parameters={"model_name": "beans"}, task_root=str(tmp_path / "b"))
    assert cache.StepCache(store, reuse=True).before(event, _push_task()) is None
    assert event.cached_from == "" and event.digests == {}
    assert not os.path.exists(tmp_path / "b")


def test_the_key_digests_recipe_component_code_parameters_files_and_inputs_as_sorted_json(tmp_path):
    """The recipe KEY_VERSION names, written out: a change to it must come with a new KEY_VERSION."""
    import datetime
    import hashlib

    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    source = tmp_path / "table.csv"
    source.write_text("x\n1\n")
    parameters = {"svm_c": 10.0, "seed": 42, "source": str(source), "day": datetime.date(2026, 1, 2)}
    event = TaskEvent(
        "train", "running", 0.0, parameters=parameters, input_artifacts={"train_data": [dsl.Dataset(uri=str(split))]}
    )
    task = _task()
    steps = cache.StepCache(None, reuse=True)
    assert steps.code == digests.code_version()
    component = hashlib.sha256()
    for message in (task["component_spec"], task["executor_spec"]):
        # Map fields in a fixed order: the same component gives the same bytes in every process.
        component.update(message.SerializeToString(deterministic=True))
    file_digest, split_digest = digests.content_digest(str(source)), digests.content_digest(str(split))
    # Keys sorted at every level; a value JSON has no form for is written as its text.
    payload = (
        f'{{"code": "{steps.code}", "component": "{component.hexdigest()}", '
        f'"files": {{"source": "{file_digest}"}}, "inputs": {{"train_data": ["{split_digest}"]}}, '
        f'"parameters": {{"day": "2026-01-02", "seed": 42, "source": "{source}", "svm_c": 10.0}}, "recipe": 1}}'
    )
    assert cache.KEY_VERSION == 1
    assert steps.key(event, task) == "sha256:" + hashlib.sha256(payload.encode()).hexdigest()
    assert steps.error == ""


def test_a_code_version_that_cannot_be_worked_out_stops_the_cache_for_the_run(tmp_path, monkeypatch):
    def unreadable():
        raise FileNotFoundError(2, "No such file or directory", "kfx/gone.py")

    monkeypatch.setattr(cache, "code_version", unreadable)
    steps = cache.StepCache(None, reuse=True)
    assert steps.code == ""
    assert steps.error == (
        "FileNotFoundError: [Errno 2] No such file or directory: 'kfx/gone.py'; "
        "the steps after it ran without the cache"
    )
    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    event = _train_event(split, tmp_path / "run" / "train")
    assert steps.before(event, _task()) is None and event.cache_key == ""


@pytest.mark.parametrize(
    "error, said",
    [
        # ml-metadata appends the SQL it ran: the reason is kept, not the query.
        (
            RuntimeError("no such table: Execution query: SELECT id FROM Execution WHERE x = 1"),
            "RuntimeError: no such table: Execution",
        ),
        (ValueError("  the first line\nthe second line\n"), "ValueError: the first line"),
        (OSError(), "OSError: "),  # an error with no message
        (ValueError("x" * 400), "ValueError: " + "x" * 300),
    ],
    ids=["query", "lines", "no-message", "long"],
)
def test_a_caching_error_is_said_by_its_type_and_the_first_line_of_its_reason(tmp_path, error, said):
    class BrokenStore:
        def reusable_executions(self, key):
            raise error

    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    steps = cache.StepCache(BrokenStore(), reuse=True)
    event = _train_event(split, tmp_path / "run" / "train")
    assert steps.before(event, _train_task(split)) is None
    assert steps.error == said + "; the steps after it ran without the cache"
    assert event.cache_key.startswith("sha256:") and event.cached_from == ""


@pytest.mark.parametrize("written", [True, False], ids=["some-written", "none-written"])
def test_a_copy_that_fails_part_way_leaves_a_clean_task_folder_and_the_step_runs(
    tmp_path, recorded_train, monkeypatch, written
):
    """A full disk while an earlier output is copied: nothing of the copy stays, whether or not any of it was
    written, and the step runs."""
    store, split, _ = recorded_train

    def place(source, target):
        if written:
            os.makedirs(target)
            with open(os.path.join(target, "model.joblib"), "wb") as f:
                f.write(b"fit")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(disk, "place_copy", place)
    root = tmp_path / "run-b" / "train"
    event = _train_event(split, root)
    steps = cache.StepCache(store, reuse=True)
    assert steps.before(event, _train_task(split)) is None
    assert (event.cached_from, event.digests) == ("", {})
    assert not os.path.exists(root)
    assert steps.error == "OSError: [Errno 28] No space left on device; the steps after it ran without the cache"


@pytest.mark.parametrize("how", ["before the step", "while it was copied, before any byte", "while it was copied"])
def test_outputs_that_vanished_are_not_reused_and_it_is_no_caching_error(tmp_path, recorded_train, monkeypatch, how):
    store, split, first = recorded_train
    if how == "before the step":
        shutil.rmtree(first.outputs["model"].uri)
    else:

        def place(source, target):
            if how == "while it was copied":
                os.makedirs(target)
                with open(os.path.join(target, "model.joblib"), "wb") as f:
                    f.write(b"fit")
            raise FileNotFoundError(2, "No such file or directory", os.path.join(source, "model.joblib"))

        monkeypatch.setattr(disk, "place_copy", place)
    root = tmp_path / "run-b" / "train"
    event = _train_event(split, root)
    steps = cache.StepCache(store, reuse=True)
    assert steps.before(event, _train_task(split)) is None
    assert (event.cached_from, event.digests, steps.error) == ("", {}, "")
    assert not os.path.exists(root)


@pytest.mark.parametrize(
    "kept",
    [
        {},
        {"values": {"validation_accuracy": 0.9264782276546982, "test_accuracy": 1.0}},
        {"values": {"validation_accuracy": 0.9264782276546982, "test_accuracy": 1.0}, "metadata": {}},
        {"values": {}, "metadata": {"model": {"framework": "scikit-learn"}}},
    ],
    ids=["nothing", "no-metadata", "no-model-metadata", "no-values"],
)
def test_an_execution_whose_exact_record_lacks_an_output_is_not_reused(tmp_path, recorded_train, monkeypatch, kept):
    """A record that lacks an output's value or metadata (a store written otherwise) cannot stand in: the step
    runs, with no caching error."""
    store, split, _ = recorded_train
    real = store.reusable_executions
    monkeypatch.setattr(store, "reusable_executions", lambda key: [(x, outputs, kept) for x, outputs, _ in real(key)])
    root = tmp_path / "run-b" / "train"
    event = _train_event(split, root)
    steps = cache.StepCache(store, reuse=True)
    assert steps.before(event, _train_task(split)) is None
    assert (event.cached_from, event.digests, steps.error) == ("", {}, "")
    assert not os.path.exists(root)


def test_a_value_read_back_as_another_json_type_is_handed_on_as_the_declared_type(tmp_path):
    """An executor output file that says 1 for a float output: the reused value is the float 1.0."""
    store, split, _ = _record_train(tmp_path, validation_accuracy=1)
    reused = cache.StepCache(store, reuse=True).before(
        _train_event(split, tmp_path / "run-b" / "train"), _train_task(split)
    )
    assert reused["validation_accuracy"] == 1.0 and type(reused["validation_accuracy"]) is float


def test_a_team_component_with_no_kfx_report_is_recorded_and_reused(tmp_path):
    """A task kfx has no report for (nothing written outside the run folder to check) is cached all the same."""
    from kfx.report import report_for

    assert report_for("fit") is None
    store, split, first = _record_train(tmp_path, "fit")  # the recording checks the cache said no error
    assert first.digests == {"model": digests.content_digest(first.outputs["model"].uri)}
    event = _train_event(split, tmp_path / "run-b" / "fit")
    event.name = "fit"
    steps = cache.StepCache(store, reuse=True)
    reused = steps.before(event, _train_task(split))
    assert steps.error == "" and event.cached_from == "run-a/fit"
    assert set(reused) == {"model", "validation_accuracy", "test_accuracy"} and event.digests == first.digests


def test_every_file_that_changed_while_the_step_ran_is_named(tmp_path):
    split = tmp_path / "train_data"
    split.write_text("a,b\n1,2\n")
    source = tmp_path / "table.csv"
    source.write_text("x\n1\n")
    steps = cache.StepCache(None, reuse=True)
    event = _train_event(split, tmp_path / "run" / "train", source=str(source))
    assert steps.before(event, _task()) is None and event.cache_key
    split.write_text("a,b\n1,3\n")
    source.write_text("x\n2\n")
    event.state = "complete"
    steps.after(event)
    assert event.cache_key == ""
    assert steps.not_kept == [
        f"{source} (parameter source), {split} (input train_data) changed while train ran, "
        "so its outputs stay in this run but no later run reuses them"
    ]


def test_a_step_the_cache_did_not_see_start_still_gets_its_output_digests(tmp_path):
    model = dsl.Model(uri=str(tmp_path / "model"))
    (tmp_path / "model").write_bytes(b"fitted")
    event = TaskEvent("train", "complete", 0.0, outputs={"model": model, "validation_accuracy": 0.9})
    steps = cache.StepCache(None, reuse=True)
    steps.after(event)
    assert (event.digests, steps.error, steps.not_kept) == ({"model": digests.content_digest(model.uri)}, "", [])


def test_an_unusable_store_is_said_in_300_characters_of_its_reason(tmp_path):
    from kfx.lineage.store import LineageStore

    config = Config(runs_dir=str(tmp_path / ("r" * 200) / ("s" * 200)))
    os.makedirs(os.path.dirname(config.resolved_metadata_path), exist_ok=True)
    with open(config.resolved_metadata_path, "w") as f:
        f.write("not a database")
    with pytest.raises(Exception) as raised:
        LineageStore(config.resolved_metadata_path)
    reason = str(raised.value)
    assert len(reason) > 300
    unusable = cache.open_cache(config, None)
    assert unusable.error == f"{type(raised.value).__name__}: {reason[:300]}"
    assert unusable.store is None and unusable.reuse is False


def test_a_place_outside_named_by_a_metadata_key_holding_a_dot_is_checked(tmp_path, monkeypatch):
    """An ``outside`` reference is an output's name, then its metadata key, which may hold a dot itself."""
    import dataclasses

    from kfx import report

    declared = dataclasses.replace(report.report_for("push-model"), outside=("pushed_model.registry.uri",))
    real = report.report_for
    monkeypatch.setattr(report, "report_for", lambda name, outputs=None: declared if name == "push-model" else None)
    assert real("push-model").outside == ("pushed_model.uri",)
    store, version, event = _record_push(tmp_path, "registry.uri")
    again = TaskEvent("push-model", "running", 0.0, parameters={"model_name": "beans"}, task_root=str(tmp_path / "b"))
    steps = cache.StepCache(store, reuse=True)
    assert steps.before(again, _push_task()) is not None
    assert steps.error == "" and again.digests == event.digests
    (version / "model.joblib").write_bytes(b"another model")
    later = TaskEvent("push-model", "running", 0.0, parameters={"model_name": "beans"}, task_root=str(tmp_path / "c"))
    assert steps.before(later, _push_task()) is None
    assert steps.error == "" and later.cached_from == ""


@pytest.mark.parametrize("ref", ["input.model_name", "pushed_model"])
def test_a_report_refuses_an_outside_place_that_would_never_be_checked(ref):
    """Only a place an output's metadata names is recorded and checked before reuse: a folder a parameter names
    would be reused after it changed, and an output with no metadata key would never be reused."""
    import dataclasses

    from kfx import report

    with pytest.raises(ValueError) as refused:
        dataclasses.replace(report.report_for("push-model"), outside=(ref,))
    assert str(refused.value) == (
        f"Report of push-model: outside {ref!r} names no output's metadata key: "
        "the only places recorded and checked before a step is reused."
    )


# -- real runs -------------------------------------------------------------------------------------


def _run(config: Config):
    from kfx.local import run_local

    out = io.StringIO()
    result = run_local(config, out=out)
    return result, out.getvalue()


def _states(result) -> dict[str, str]:
    return {e.name: e.state for e in result.events}


@pytest.fixture(scope="module")
def cold(tmp_path_factory, beans_sample):
    """A complete run of a 600-row table read from a CSV file, into a fresh store."""
    folder = tmp_path_factory.mktemp("cache")
    source = folder / "beans.csv"
    beans_sample.to_csv(source, index=False)
    config = Config(source=str(source), runs_dir=str(folder / "runs"))
    result, console = _run(config)
    assert result.status == "complete", result.summary.get("error")
    assert set(_states(result).values()) == {"complete"}
    return config, result


def _store(config: Config):
    from kfx.lineage.store import LineageStore

    return LineageStore(config.resolved_metadata_path)


@pytest.fixture(scope="module")
def after_push(cold):
    """The identical re-run after the cold run: its champion is the v1 the cold run pushed."""
    config, first = cold
    result, console = _run(config)
    assert result.status == "complete", result.summary.get("error")
    return result, console


@pytest.mark.e2e
def test_a_rerun_after_a_push_runs_the_steps_that_read_the_champion_and_pushes_no_second_version(cold, after_push):
    from kfx.summary import format_summary

    config, first = cold
    result, console = after_push
    assert first.summary["champion"]["found"] is False
    assert _states(result) == {
        name: "complete" if name == "find-model" or name in CHAMPION_READERS else "cached" for name in NAMES
    }
    for name in NAMES:
        how = "done" if name == "find-model" or name in CHAMPION_READERS else f"cached from run {first.run_id}"
        assert f"{at(name)} {how} in " in console
    v1 = os.path.join(os.path.abspath(config.resolved_registry_dir), config.resolved_model_name, "v1")
    assert first.summary["push"] == {"pushed": True, "version": 1, "uri": v1}
    assert result.summary["champion"] == {"found": True, "model_name": "beans", "version": "1", "uri": v1, "reason": ""}
    # The training was reused, so the model is the champion byte for byte: blessed, and not pushed twice.
    assert result.summary["model"]["blessed"] is True
    assert result.summary["push"] == {
        "pushed": False,
        "version": 1,
        "uri": v1,
        "reason": "this model is already version 1, the champion",
    }
    assert "  pushed      no: this model is already version 1, the champion" in format_summary(result.summary)
    assert sorted(os.listdir(os.path.join(config.resolved_registry_dir, config.resolved_model_name))) == ["v1"]
    train = next(e for e in result.events if e.name == "train")
    assert train.cached_from == f"{first.run_id}/train"


@pytest.mark.e2e
def test_an_identical_run_reuses_every_step_but_the_registry_lookup_and_records_it_as_cached(cold, after_push):
    from kfx.lineage.queries import Lineage
    from kfx.summary import format_summary

    config, first = cold
    second, _ = after_push
    result, console = _run(config)
    assert result.status == "complete", result.summary.get("error")
    assert _states(result) == REUSED
    # Each cached step names the run that made its outputs: the steps that read the champion ran again in
    # the second run; the others were reused there too, from the first.
    origin = {name: (second if name in CHAMPION_READERS else first).run_id for name in NAMES}
    for name in NAMES:
        how = "done" if name == "find-model" else f"cached from run {origin[name]}"
        assert f"{at(name)} {how} in " in console
    summary = json.load(open(os.path.join(result.run_dir, "summary.json")))
    assert [(s["name"], s["state"], s.get("cached_from")) for s in summary["steps"]] == [
        (name, "complete", None) if name == "find-model" else (name, "cached", f"{origin[name]}/{name}")
        for name in NAMES
    ]
    assert "cache_error" not in summary
    assert (
        f"  cached      {len(NAMES) - 1} of {len(NAMES)} steps reused earlier outputs (--no-cache runs every step)"
        in format_summary(summary)
    )
    # The same figures, from the earlier outputs; the push is the second run's (no second registry version).
    paths = ("uri", "view", "report", "numbers")  # each run's own files: compared by content below
    for section in ("rows", "champion", "statistics", "anomalies", "model", "push"):
        assert {k: v for k, v in summary[section].items() if k not in paths} == {
            k: v for k, v in second.summary[section].items() if k not in paths
        }, section
    numbers = summary["model"]["numbers"]
    assert numbers.startswith(result.run_dir + os.sep)
    with open(numbers) as mine, open(second.summary["model"]["numbers"]) as earlier:
        assert json.load(mine) == json.load(earlier)
    assert summary["push"] == second.summary["push"] and summary["champion"] == second.summary["champion"]
    assert sorted(os.listdir(os.path.join(config.resolved_registry_dir, config.resolved_model_name))) == ["v1"]
    # The outputs are in this run's folder where kfp.local would have put them, copies of the earlier files
    # (never the same file: an edit in one run must not reach another); find-model's reference is written again,
    # with the same content.
    assert sorted(summary["artifacts"]) == sorted(second.summary["artifacts"])
    for key, uri in summary["artifacts"].items():
        assert uri.startswith(result.run_dir + os.sep)
        earlier = second.summary["artifacts"][key]
        if os.path.isfile(earlier):
            assert not os.path.samefile(uri, earlier), key
        assert digests.content_digest(uri) == digests.content_digest(earlier), key
    assert "find-model/registered_model" in summary["artifacts"]
    train = next(e for e in result.events if e.name == "train")
    assert (
        train.outputs["validation_accuracy"]
        == next(e for e in first.events if e.name == "train").outputs["validation_accuracy"]
    )
    assert isinstance(next(e for e in result.events if e.name == "import-dataset").outputs["train_rows"], int)
    # The store: executions CACHED, naming the one they reused; the lookup COMPLETE; the lineage questions
    # answer as for a run.
    store = _store(config)
    graph = store.run_graph(result.run_id)
    assert {x.step: (x.state, x.cached_from) for x in graph.executions.values()} == {
        name: ("complete", "") if name == "find-model" else ("cached", f"{origin[name]}/{name}") for name in NAMES
    }
    assert len([a for a in graph.artifacts.values() if a.type != "DataSource"]) == 16
    assert store.run(result.run_id).cached_steps == 8
    upstream = Lineage(store).show(result.run_id)
    assert upstream.artifact.uri == summary["model"]["uri"]
    assert [a.properties["rows"] for a in upstream.splits] == [479, 60, 60]
    assert upstream.trainer_parameters["svm_c"] == 10.0


@pytest.mark.e2e
def test_a_stop_between_cached_steps_starts_no_further_step(cold, ctrl_c_reaches_python):
    """Ctrl-C while steps are being reused: no process to end, and no further step starts."""
    import signal

    from kfx.events import Listener
    from kfx.local import run_local
    from kfx.stops import Interrupted

    class CtrlC(Listener):
        def task_finished(self, event):
            if event.name == "infer-schema":
                os.kill(os.getpid(), signal.SIGINT)

    config, first = cold
    with pytest.raises(Interrupted) as raised:
        run_local(config, out=io.StringIO(), listeners=[CtrlC()])
    result = raised.value.result
    assert [(e.name, e.state) for e in result.events] == [
        ("import-dataset", "cached"),
        ("find-model", "complete"),
        ("generate-statistics", "cached"),
        ("infer-schema", "cached"),
    ]
    assert (result.status, result.summary["stopped_step"]) == ("interrupted", None)
    assert "after infer-schema" in str(raised.value) and "4 completed steps kept" in str(raised.value)


@pytest.mark.e2e
def test_a_run_that_records_no_lineage_still_reuses_what_the_store_holds(cold):
    config, first = cold
    result, _ = _run(config.replace(record_lineage=False))
    assert _states(result) == REUSED
    assert result.run_id not in [r.run_id for r in _store(config).runs()]


@pytest.mark.e2e
def test_a_changed_parameter_runs_the_steps_that_take_it_and_those_after(cold):
    config, first = cold
    result, console = _run(config.replace(svm_c=2.0))
    assert result.status == "complete", result.summary.get("error")
    assert _states(result) == {
        "import-dataset": "cached",
        "find-model": "complete",
        "generate-statistics": "cached",
        "infer-schema": "cached",
        "validate-statistics": "cached",
        "train": "complete",
        "check-serving": "complete",
        "evaluate": "complete",
        "push-model": "complete",
    }
    assert f"{at('train')} done in" in console
    # Another model: not blessed, below the threshold (so not compared with the champion v1), and not pushed.
    assert (result.summary["model"]["blessed"], result.summary["model"]["champion_version"]) == (False, 1)
    assert result.summary["push"] == {
        "pushed": False,
        "reason": "not blessed: test accuracy 0.8833 is below min_accuracy 0.9",
    }
    assert result.summary["model"]["uri"] != first.summary["model"]["uri"]
    assert result.summary["push"] != first.summary["push"]


@pytest.mark.e2e
def test_a_failed_execution_is_never_reused(cold, tmp_path):
    config, first = cold
    # A curated schema requiring a column the table lacks fails validate-statistics (skew thresholds widen
    # with fewer rows, so no skew threshold fails a clean 600-row table).
    schema = tmp_path / "curated.pbtxt"
    schema.write_text('feature { name: "Colour" type: BYTES presence { min_fraction: 1.0 } }\n')
    failing = config.replace(schema_file=str(schema))
    runs = [_run(failing)[0] for _ in range(2)]
    for result, schema_state in zip(runs, ("complete", "cached"), strict=True):
        assert result.status == "failed"
        assert [(e.name, e.state) for e in result.events] == [
            ("import-dataset", "cached"),
            ("find-model", "complete"),
            ("generate-statistics", "cached"),
            ("infer-schema", schema_state),
            ("validate-statistics", "failed"),
        ]
    failed = runs[0].events[-1]
    assert failed.cache_key and failed.cache_key == runs[1].events[-1].cache_key
    assert _store(config).reusable_executions(failed.cache_key) == []
    assert runs[1].summary["error_kind"] == "AnomaliesFound"


@pytest.mark.e2e
def test_a_caching_problem_runs_the_step_and_the_summary_says_so(cold, monkeypatch):
    from kfx.summary import format_summary

    config, first = cold
    real = disk.place_copy

    def place(source, target):
        if target.endswith("pushed_model"):
            raise PermissionError(f"[Errno 13] Permission denied: {target!r}")
        real(source, target)

    monkeypatch.setattr(disk, "place_copy", place)
    result, console = _run(config)
    assert result.status == "complete"
    assert _states(result) == {**REUSED, "push-model": "complete"}
    assert result.summary["cache_error"].startswith("PermissionError: [Errno 13] Permission denied")
    assert "  cache       not used after: PermissionError" in format_summary(result.summary)
    assert json.load(open(os.path.join(result.run_dir, "summary.json")))["cache_error"] == result.summary["cache_error"]
    push = result.events[-1]
    assert sorted(os.listdir(push.task_root)) == ["executor_output.json", "pushed_model"]


@pytest.mark.e2e
def test_a_push_is_reused_only_while_its_registry_version_is_there(cold, after_push):
    config, first = cold
    shutil.rmtree(os.path.join(config.resolved_registry_dir, config.resolved_model_name))
    result, _ = _run(config)
    # With no champion, the steps that read it are reused from the cold run; its push is not, its version being gone.
    assert result.summary["champion"]["found"] is False
    assert _states(result) == {**REUSED, "push-model": "complete"}
    assert {e.name: e.cached_from for e in result.events if e.name in CHAMPION_READERS[:2]} == {
        name: f"{first.run_id}/{name}" for name in CHAMPION_READERS[:2]
    }
    v1 = os.path.join(os.path.abspath(config.resolved_registry_dir), config.resolved_model_name, "v1")
    assert result.summary["push"] == {"pushed": True, "version": 1, "uri": v1}
    assert os.path.isfile(os.path.join(v1, "model.joblib"))
    # The registry holds v1 again, as it was: the next run's champion, and the push that found it the champion
    # is reused.
    again, _ = _run(config)
    assert _states(again) == REUSED
    assert again.events[-1].cached_from == f"{after_push[0].run_id}/push-model"
    assert again.summary["push"] == {
        "pushed": False,
        "version": 1,
        "uri": v1,
        "reason": "this model is already version 1, the champion",
    }


@pytest.mark.e2e
def test_an_output_changed_since_it_was_recorded_is_not_reused(cold):
    import glob

    config, first = cold
    split = first.summary["artifacts"]["import-dataset/train_data"]
    as_written = open(split).read()

    def edit(path: str) -> None:
        with open(path, "a") as f:
            f.write(as_written.splitlines()[-1] + "\n")  # one more row in an earlier run's split

    edit(split)
    # The later runs that reused the split hold copies of it, still as written: one of them is reused.
    result, _ = _run(config)
    assert _states(result) == REUSED
    assert open(result.summary["artifacts"]["import-dataset/train_data"]).read() == as_written
    # With every earlier run's split edited, none is reused.
    for path in glob.glob(os.path.join(config.runs_dir, "*", "*", "import-dataset", "train_data")):
        edit(path)
    result, _ = _run(config)
    states = _states(result)
    assert states["import-dataset"] == "complete"
    # The step made the split again, byte for byte as first written: what reads it is reused.
    assert digests.content_digest(result.summary["artifacts"]["import-dataset/train_data"]) != digests.content_digest(
        split
    )
    assert open(result.summary["artifacts"]["import-dataset/train_data"]).read() == as_written
    assert {n: states[n] for n in NAMES[1:]} == {n: REUSED[n] for n in NAMES[1:]}


@pytest.mark.e2e
def test_outputs_that_vanished_are_not_reused_but_the_copies_other_runs_hold_are(cold):
    config, first = cold
    shutil.rmtree(first.run_dir)
    result, _ = _run(config)
    assert _states(result) == REUSED
    stats = next(e for e in result.events if e.name == "generate-statistics")
    # It names the run that computed the statistics, though the files now come from a later run's copies.
    assert stats.cached_from == f"{first.run_id}/generate-statistics"
    assert os.path.isfile(os.path.join(stats.outputs["statistics"].uri, "Split-train", "stats.tfrecord"))


@pytest.mark.e2e
def test_with_no_cache_every_step_runs(cold, kfx_cli):
    config, first = cold
    completed = kfx_cli("run", "--source", config.source, "--runs-dir", config.runs_dir, "--no-cache", "--json")
    assert completed.returncode == 0, completed.output
    summary = json.loads(completed.stdout[completed.stdout.index("\n{") + 1 :])
    assert [(s["name"], s["state"]) for s in summary["steps"]] == [(name, "complete") for name in NAMES]
    assert summary["config"]["enable_caching"] is False


@pytest.mark.e2e
def test_changed_code_reuses_nothing(cold, monkeypatch):
    config, first = cold
    monkeypatch.setattr(cache, "code_version", lambda: "sha256:" + "0" * 64)
    result, _ = _run(config)
    assert result.status == "complete"
    assert set(_states(result).values()) == {"complete"}


@pytest.mark.e2e
def test_a_changed_source_file_is_read_again_and_nothing_after_it_is_reused(cold):
    config, first = cold
    with open(config.source) as f:
        lines = f.read().splitlines()
    with open(config.source, "w") as f:
        f.write("\n".join(lines[:-1]) + "\n")  # one row fewer, same path
    result, _ = _run(config)
    assert result.status == "complete", result.summary.get("error")
    assert set(_states(result).values()) == {"complete"}
    assert sum(result.summary["rows"].values()) < sum(first.summary["rows"].values())
