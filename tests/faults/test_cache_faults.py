"""Faults of step caching (kfx.cache) that used to pass in silence, on real files and real kfp.local runs.

- A source file replaced as ``import-dataset`` starts: the step reads the new bytes while its key
  names the old ones. Its execution must not be reused by a later run on the old bytes.
- Editing a file in one run's folder: cached outputs used to be hard links, so the edit reached every
  run that reused them, in this runs folder and in another one sharing the store.

The runs are short pipelines of the beans steps (import-dataset, and generate-statistics for a
folder output) on a 600-row table, written as plain KFP and run as ``kfx run`` runs the whole one.
"""

import io
import json
import os

import pytest
from kfp import dsl

from kfx import cache, disk
from kfx.components import generate_statistics, import_dataset
from kfx.config import Config
from kfx.events import TaskEvent


@dsl.pipeline(name="import-only")
def import_only(source: str, label_column: str, seed: int, sample_rows: int):
    import_dataset(source=source, label_column=label_column, seed=seed, sample_rows=sample_rows)


@dsl.pipeline(name="import-and-statistics")
def import_and_statistics(source: str, label_column: str, seed: int, sample_rows: int, stats_engine: str):
    data = import_dataset(source=source, label_column=label_column, seed=seed, sample_rows=sample_rows)
    generate_statistics(
        train_data=data.outputs["train_data"],
        validation_data=data.outputs["validation_data"],
        test_data=data.outputs["test_data"],
        stats_engine=stats_engine,
    )


def _run(config: Config, pipeline=import_only):
    """Runs a short pipeline of the beans steps with kfp.local, as ``kfx run`` runs all of them."""
    from kfx.local import run_local
    from kfx.pipelines import arguments, local_values

    out = io.StringIO()
    result = run_local(config, out=out, pipeline=pipeline, arguments=arguments(pipeline, local_values(config)))
    assert result.status == "complete", result.summary.get("error")
    return result, out.getvalue()


def _step(result, name: str):
    return next(e for e in result.events if e.name == name)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    """Replaces ``path`` whole, as an editor or a sync tool does: a new file renamed over it."""
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.replace(path + ".new", path)


@pytest.fixture
def tables(tmp_path, beans_sample):
    """The 600-row beans table as a CSV file, and the same rows with their labels shuffled (bytes)."""
    source = tmp_path / "beans.csv"
    beans_sample.to_csv(source, index=False)
    shuffled = beans_sample.copy()
    shuffled["Class"] = shuffled["Class"].sample(frac=1.0, random_state=7).to_numpy()
    return str(source), _read(str(source)), shuffled.to_csv(index=False).encode()


# -- what a step read -------------------------------------------------------------------------------


def test_an_input_changed_while_its_step_ran_leaves_the_step_without_a_key(tmp_path):
    """The key's inputs are digested again when the step ends; a change drops the key and says which."""
    from kfp.local import utils

    from kfx.components import train

    component = next(iter(train.pipeline_spec.components.values()))
    executor = train.pipeline_spec.deployment_spec["executors"][component.executor_label]
    task = {"component_spec": component, "executor_spec": utils.struct_to_executor_spec(executor), "arguments": {}}
    split, table = tmp_path / "train_data", tmp_path / "table.csv"
    split.write_text("a,b\n1,2\n")
    table.write_text("x\n1\n")
    runs = []
    for changed in (None, split, table):
        steps = cache.StepCache(None, reuse=False)  # one run per change
        event = TaskEvent(
            "train",
            "running",
            0.0,
            parameters={"source": str(table), "svm_c": 10.0},
            input_artifacts={"train_data": [dsl.Dataset(uri=str(split))]},
        )
        event.cache_key = steps.key(event, task)
        if changed is not None:
            changed.write_text(changed.read_text() + "3,4\n")
        event.state = "complete"
        steps.after(event)
        assert steps.error == ""
        runs.append((steps, event))
    assert [bool(event.cache_key) for _, event in runs] == [True, False, False]
    assert [sentence for steps, _ in runs for sentence in steps.not_kept] == [
        f"{split} (input train_data) changed while train ran, so its outputs "
        "stay in this run but no later run reuses them",
        f"{table} (parameter source) changed while train ran, so its outputs "
        "stay in this run but no later run reuses them",
    ]


@pytest.mark.e2e
def test_a_source_replaced_as_the_import_starts_is_not_reused_by_a_later_run_on_the_original(
    tmp_path,
    tables,
    monkeypatch,
    capsys,
):
    from kfp.local import executor_input_utils, task_dispatcher

    from kfx.lineage.store import LineageStore
    from kfx.summary import format_summary

    source, original, shuffled = tables
    config = Config(source=source, runs_dir=str(tmp_path / "runs"))
    real = task_dispatcher.run_single_task_implementation

    def replacing(**kwargs):
        # The key is worked out by now (kfx.cache, before kfp.local is called); the step has not read the file.
        if executor_input_utils.get_local_task_resource_name(kwargs["component_name"]) == "import-dataset":
            _write(source, shuffled)
        return real(**kwargs)

    monkeypatch.setattr(task_dispatcher, "run_single_task_implementation", replacing)
    replaced, _ = _run(config)
    monkeypatch.setattr(task_dispatcher, "run_single_task_implementation", real)
    assert _read(source) == shuffled
    warned = capsys.readouterr().err
    _write(source, original)

    later, console = _run(config)
    assert "cached from" not in console
    assert _step(later, "import-dataset").state == "complete"
    assert "cached_from" not in json.dumps(later.summary["steps"])
    splits = [_read(r.summary["artifacts"]["import-dataset/train_data"]) for r in (replaced, later)]
    assert splits[0] != splits[1]  # the replaced run's split has the shuffled labels

    sentence = (
        f"{source} (parameter source) changed while import-dataset ran, so its outputs stay in this run "
        "but no later run reuses them"
    )
    assert replaced.summary["cache_not_kept"] == [sentence]
    assert json.load(open(os.path.join(replaced.run_dir, "summary.json")))["cache_not_kept"] == [sentence]
    assert f"kfx: warning: {sentence}\n" in warned
    assert f"  cache       {sentence}" in format_summary(replaced.summary)
    assert "cache_not_kept" not in later.summary
    # The store holds the replaced run's execution without a key: only the later run's can be reused.
    key = _step(later, "import-dataset").cache_key
    assert _step(replaced, "import-dataset").cache_key == ""
    reusable = LineageStore(config.resolved_metadata_path).reusable_executions(key)
    assert [x.name for x, _, _ in reusable] == [f"{later.run_id}/import-dataset"]
    again, console = _run(config)
    assert f"[1/1] import-dataset cached from run {later.run_id} in " in console
    assert _read(again.summary["artifacts"]["import-dataset/train_data"]) == splits[1]


@pytest.mark.e2e
def test_a_split_edited_as_the_statistics_start_leaves_them_unreused(tmp_path, tables, monkeypatch, capsys):
    """An input artifact is checked like a file a parameter names: this run's split, edited as its reader starts."""
    from kfp.local import executor_input_utils, task_dispatcher

    source, _, _ = tables
    config = Config(source=source, runs_dir=str(tmp_path / "runs"))
    real = task_dispatcher.run_single_task_implementation
    edited = []

    def editing(**kwargs):
        if executor_input_utils.get_local_task_resource_name(kwargs["component_name"]) == "generate-statistics":
            split = kwargs["arguments"]["train_data"].uri
            with open(split, "a") as f:
                f.write(open(split).read().splitlines()[-1] + "\n")  # one more row, as the statistics start
            edited.append(split)
        return real(**kwargs)

    monkeypatch.setattr(task_dispatcher, "run_single_task_implementation", editing)
    first, _ = _run(config, import_and_statistics)
    monkeypatch.setattr(task_dispatcher, "run_single_task_implementation", real)
    warned = capsys.readouterr().err
    # The import runs again (the earlier split is edited); its split is as first written, so the statistics
    # have the key the first run's would have had without the edit: they must be made again, not reused.
    later, console = _run(config, import_and_statistics)
    assert "cached from" not in console
    assert [e.state for e in later.events] == ["complete", "complete"]
    sentence = (
        f"{edited[0]} (input train_data) changed while generate-statistics ran, so its outputs stay in "
        "this run but no later run reuses them"
    )
    assert first.summary["cache_not_kept"] == [sentence]
    assert f"kfx: warning: {sentence}\n" in warned


# -- no file shared between runs --------------------------------------------------------------------


def test_a_placed_output_shares_no_file_with_the_one_it_was_placed_from(tmp_path):
    earlier, placed = tmp_path / "earlier" / "statistics", tmp_path / "placed" / "statistics"
    (earlier / "Split-train").mkdir(parents=True)
    (earlier / "Split-train" / "stats.tfrecord").write_bytes(b"statistics")
    (earlier / "train_data").write_bytes(b"a,b\n1,2\n")
    disk.place_copy(str(earlier), str(placed))
    for name in ("Split-train/stats.tfrecord", "train_data"):
        assert not os.path.samefile(placed / name, earlier / name), name
        with open(placed / name, "r+b") as f:  # rewritten in place, as root may whatever the mode bits
            f.write(b"X")
    assert (earlier / "Split-train" / "stats.tfrecord").read_bytes() == b"statistics"
    assert (earlier / "train_data").read_bytes() == b"a,b\n1,2\n"


def _files(result) -> dict[str, str]:
    """A file output and a file under a folder output of a run."""
    artifacts = result.summary["artifacts"]
    return {
        "train_data": artifacts["import-dataset/train_data"],
        "statistics": os.path.join(artifacts["generate-statistics/statistics"], "Split-train", "stats.tfrecord"),
    }


@pytest.mark.e2e
def test_editing_one_runs_cached_outputs_changes_no_other_run_and_is_not_reused(tmp_path, tables):
    source, _, _ = tables
    steps = import_and_statistics
    here = Config(source=source, runs_dir=str(tmp_path / "runs"))
    # Another runs folder whose store is the first one's: its runs reuse the first folder's outputs.
    there = here.replace(runs_dir=str(tmp_path / "elsewhere"), metadata_path=here.resolved_metadata_path)
    first, _ = _run(here, steps)
    reusing = [_run(here, steps)[0], _run(there, steps)[0]]
    for result in reusing:
        assert [e.state for e in result.events] == ["cached", "cached"]
    kept = {name: _read(path) for name, path in _files(first).items()}

    for path in _files(first).values():
        with open(path, "r+b") as f:  # rewritten in place: the same file, other bytes
            f.write(b"edited")
    for result in reusing:
        for name, path in _files(result).items():
            assert _read(path) == kept[name], f"{result.run_id} {name} changed with the first run's"

    later, _ = _run(here, steps)
    for name, path in _files(later).items():
        assert _read(path) == kept[name], name
        assert not os.path.samefile(path, _files(first)[name]), name
