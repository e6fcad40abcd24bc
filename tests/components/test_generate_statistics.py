"""generate_statistics: TFDV statistics of every split, and the Facets view of train vs. eval."""

import os

import pytest
from kfp.dsl import HTML, Artifact

from kfx import components, data_steps, statistics

SPLIT_FOLDERS = ["Split-test", "Split-train", "Split-validation"]


def _examples(statistics_dir):
    return {
        name: int(proto.datasets[0].num_examples) for name, proto in statistics.load_statistics(statistics_dir).items()
    }


def test_plain_function_writes_each_splits_statistics_and_the_view(upstream, tmp_path):
    out, view = str(tmp_path / "statistics"), str(tmp_path / "view.html")
    result = data_steps.generate_statistics(*upstream.splits.values(), out, view, "memory", None)
    assert result == {"train_rows": 479, "validation_rows": 60, "test_rows": 60, "features": 17}
    assert sorted(os.listdir(out)) == SPLIT_FOLDERS
    assert _examples(out) == upstream.rows
    train = statistics.load_statistics(out)["train"].datasets[0]
    assert sorted(".".join(f.path.step) for f in train.features) == sorted(upstream.columns)
    label = next(f for f in train.features if list(f.path.step) == ["Class"])
    assert label.string_stats.unique == 7
    assert "facets-overview" in open(view).read()


@pytest.mark.slow
def test_plain_function_beam_engine_counts_the_same_rows(upstream, tmp_path):
    out = str(tmp_path / "statistics")
    result = data_steps.generate_statistics(
        *upstream.splits.values(), out, str(tmp_path / "view.html"), "beam", {"runner": "DirectRunner"}
    )
    assert result == {"train_rows": 479, "validation_rows": 60, "test_rows": 60, "features": 17}
    assert _examples(out) == upstream.rows


def test_python_func_records_the_engine_and_rows_on_the_statistics(upstream, new_artifact):
    stats, view = new_artifact(Artifact, "statistics"), new_artifact(HTML, "statistics_view")
    outputs = components.generate_statistics.python_func(**upstream.datasets(), statistics=stats, statistics_view=view)
    assert outputs == (17,)
    assert stats.metadata == {
        "engine": "memory",
        "train_rows": 479,
        "validation_rows": 60,
        "test_rows": 60,
        "features": 17,
    }
    assert sorted(os.listdir(stats.path)) == SPLIT_FOLDERS
    assert _examples(stats.path) == upstream.rows
    assert "facets-overview" in open(view.path).read()


def test_kfp_local_run(kfp_local, upstream):
    outputs = kfp_local.run(components.generate_statistics, upstream.datasets())
    assert outputs["features"] == 17
    stats = outputs["statistics"]
    assert stats.path.startswith(str(kfp_local.root))
    assert stats.metadata == {
        "engine": "memory",
        "train_rows": 479,
        "validation_rows": 60,
        "test_rows": 60,
        "features": 17,
    }
    assert _examples(stats.path) == upstream.rows
    assert "facets-overview" in open(outputs["statistics_view"].path).read()


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.generate_statistics, from_config={"stats_engine"}, written={"beam_options": {}})
    inputs = loaded.component_spec.inputs
    assert [inputs[n].type for n in ("train_data", "validation_data", "test_data")] == ["system.Dataset@0.0.1"] * 3
    assert loaded.component_spec.outputs["statistics"].type == "system.Artifact@0.0.1"
