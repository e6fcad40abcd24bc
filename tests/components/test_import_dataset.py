"""import_dataset: read a table, check it, write a stratified train / validation / test split."""

import pandas as pd
import pytest
from kfp.dsl import Dataset

from kfx import components, data_steps
from kfx.errors import DataError

SPLITS = ("train", "validation", "test")


def _outputs(new_artifact):
    return {f"{split}_data": new_artifact(Dataset, f"{split}_data") for split in SPLITS}


def test_plain_function_writes_one_csv_per_split_with_every_row_once(upstream, beans_sample, tmp_path):
    paths = {split: str(tmp_path / f"{split}.csv") for split in SPLITS}
    result = data_steps.import_dataset(upstream.source, "Class", *paths.values(), (0.8, 0.1, 0.1), 42, 0)
    assert result == {
        "source": upstream.source,
        "columns": list(upstream.columns),
        "train_rows": 479,
        "validation_rows": 60,
        "test_rows": 60,
        "task": "classification",
    }
    frames = {split: pd.read_csv(path) for split, path in paths.items()}
    assert {split: len(frame) for split, frame in frames.items()} == upstream.rows
    assert all(list(frame.columns) == list(upstream.columns) for frame in frames.values())
    # Stratified: every split holds every class; together they are the table, each row once.
    assert all(sorted(frame["Class"].unique()) == list(upstream.classes) for frame in frames.values())
    together = pd.concat(frames.values(), ignore_index=True)
    key = list(upstream.columns)
    assert together.sort_values(key).reset_index(drop=True).equals(beans_sample.sort_values(key).reset_index(drop=True))


def test_plain_function_samples_before_splitting_and_the_seed_decides_the_split(upstream, tmp_path):
    def split(seed, sample_rows, folder):
        folder.mkdir()
        paths = [str(folder / f"{s}.csv") for s in SPLITS]
        result = data_steps.import_dataset(upstream.source, "Class", *paths, (0.8, 0.1, 0.1), seed, sample_rows)
        return result, open(paths[0]).read()

    sampled, _ = split(42, 300, tmp_path / "sampled")
    assert (sampled["train_rows"], sampled["validation_rows"], sampled["test_rows"]) == (241, 30, 30)
    _, first = split(7, 0, tmp_path / "a")
    _, again = split(7, 0, tmp_path / "b")
    _, other = split(8, 0, tmp_path / "c")
    assert first == again and first != other


def test_plain_function_names_a_missing_label_column(upstream, tmp_path):
    with pytest.raises(DataError, match=r"^Label column 'Kind' is not in source '.*beans.csv' \(columns: Area, "):
        data_steps.import_dataset(upstream.source, "Kind", *(str(tmp_path / s) for s in SPLITS), (0.8, 0.1, 0.1), 42, 0)
    assert list(tmp_path.iterdir()) == []


def test_python_func_writes_three_csv_datasets_and_their_metadata(upstream, new_artifact):
    a = _outputs(new_artifact)
    outputs = components.import_dataset.python_func(source=upstream.source, seed=42, **a)
    assert outputs == (479, 60, 60, "classification")
    for split in SPLITS:
        assert a[f"{split}_data"].metadata == {
            "split": split,
            "rows": upstream.rows[split],
            "source": upstream.source,
            "label_column": "Class",
            "format": "csv",
            "seed": 42,
            "task": "classification",
        }
    assert a["train_data"].metadata["rows"] == 479 and a["test_data"].metadata["split"] == "test"
    with open(a["validation_data"].path) as f:
        assert f.readline().startswith("Area,Perimeter") and sum(1 for _ in f) == 60


def test_kfp_local_run(kfp_local, upstream):
    task = components.import_dataset(source=upstream.source, sample_rows=300)
    assert (task.outputs["train_rows"], task.outputs["validation_rows"], task.outputs["test_rows"]) == (241, 30, 30)
    for split, rows in zip(SPLITS, (241, 30, 30), strict=True):
        dataset = task.outputs[f"{split}_data"]
        assert dataset.path.startswith(str(kfp_local.root))
        assert dataset.metadata == {
            "split": split,
            "rows": rows,
            "source": upstream.source,
            "label_column": "Class",
            "format": "csv",
            "seed": 42,
            "task": "classification",
        }
        assert len(pd.read_csv(dataset.path)) == rows


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.import_dataset,
        from_config={
            "label_column",
            "train_fraction",
            "validation_fraction",
            "test_fraction",
            "seed",
            "sample_rows",
            "task",
        },
    )
    # `source` is a Config field too, but it comes before the outputs: it stays required.
    assert loaded.component_spec.inputs["source"].optional is False
    assert set(loaded.component_spec.outputs) == {
        "train_data",
        "validation_data",
        "test_data",
        "train_rows",
        "validation_rows",
        "test_rows",
        "task",
    }
