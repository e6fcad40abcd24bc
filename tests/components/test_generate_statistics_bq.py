"""generate_statistics_bq (vertex): TFDV statistics of a BigQuery table, in memory or on Dataflow.

The network edge is BigQuery: ``bigquery.Client`` is replaced by the recorder of tests/vertex
(``fake_bigquery``), which serves the sample as the table and records what kfx asked for, so
the read, the split and TFDV run for real without a cloud. A kfp.local run would reach
BigQuery from a task process the patch does not cover: the component is checked through
``.python_func`` and its compiled interface instead. (The Dataflow path's Beam transforms are
tested in tests/vertex/test_vertex_components.py.)
"""

import os

import pandas as pd
import pytest
from kfp.dsl import HTML, Artifact

from kfx import components, statistics
from kfx.errors import SourceError
from kfx.vertex import statistics as bq_statistics

TABLE = "kfx-test-project.beans.beans1"


@pytest.fixture
def table(fake_bigquery, beans_frames):
    """The beans sample (599 rows) served as the BigQuery table ``TABLE``."""
    frame = pd.concat(list(beans_frames.values()), ignore_index=True)
    fake_bigquery.tables[TABLE] = frame
    return frame


def _examples(statistics_dir):
    return {
        name: int(proto.datasets[0].num_examples) for name, proto in statistics.load_statistics(statistics_dir).items()
    }


def test_plain_function_reads_the_table_billed_to_the_pipelines_project(table, fake_bigquery, tmp_path):
    out, view = str(tmp_path / "statistics"), tmp_path / "view.html"
    result = bq_statistics.generate_statistics_bq(
        f"bq://{TABLE}",
        out,
        str(view),
        "Class",
        (0.8, 0.1, 0.1),
        42,
        {"runner": "DirectRunner"},
        billing_project="kfx-billing-project",
    )
    # Split in memory as the local import splits: the same 479 / 60 / 60 rows.
    assert result == {"train_rows": 479, "validation_rows": 60, "test_rows": 60, "features": 17, "engine": "memory"}
    assert fake_bigquery.calls == [("Client", "kfx-billing-project"), ("get_table", TABLE), ("list_rows", TABLE)]
    assert sorted(os.listdir(out)) == ["Split-test", "Split-train", "Split-validation"]
    assert _examples(out) == {"train": 479, "validation": 60, "test": 60}
    assert "facets-overview" in view.read_text()


def test_plain_function_bills_the_tables_project_without_a_billing_project(table, fake_bigquery, tmp_path):
    bq_statistics.generate_statistics_bq(
        f"bq://{TABLE}", str(tmp_path / "s"), str(tmp_path / "v.html"), "Class", (0.8, 0.1, 0.1), 42
    )
    assert fake_bigquery.calls[0] == ("Client", "kfx-test-project")


def test_plain_function_refuses_a_source_that_is_no_bigquery_table(fake_bigquery, tmp_path):
    with pytest.raises(SourceError, match=r"'gs://bucket/beans.csv' is not a BigQuery table; write bq://PROJECT"):
        bq_statistics.generate_statistics_bq(
            "gs://bucket/beans.csv", str(tmp_path / "s"), str(tmp_path / "v.html"), "Class", (0.8, 0.1, 0.1), 42
        )
    assert fake_bigquery.calls == [] and list(tmp_path.iterdir()) == []


def test_python_func_records_the_source_engine_and_rows(table, fake_bigquery, new_artifact):
    stats, view = new_artifact(Artifact, "statistics"), new_artifact(HTML, "statistics_view")
    outputs = components.generate_statistics_bq.python_func(
        bq_source=f"bq://{TABLE}",
        statistics=stats,
        statistics_view=view,
        project="kfx-billing-project",
    )
    assert outputs == (17,)
    assert stats.metadata == {
        "source": f"bq://{TABLE}",
        "engine": "memory",
        "train_rows": 479,
        "validation_rows": 60,
        "test_rows": 60,
        "features": 17,
    }
    assert fake_bigquery.calls[0] == ("Client", "kfx-billing-project")
    assert _examples(stats.path) == {"train": 479, "validation": 60, "test": 60}
    assert "facets-overview" in open(view.path).read()


def test_python_func_splits_by_the_given_fractions_and_seed(table, new_artifact):
    stats, view = new_artifact(Artifact, "statistics"), new_artifact(HTML, "statistics_view")
    components.generate_statistics_bq.python_func(
        bq_source=f"bq://{TABLE}",
        statistics=stats,
        statistics_view=view,
        train_fraction=0.5,
        validation_fraction=0.25,
        test_fraction=0.25,
        seed=3,
    )
    rows = _examples(stats.path)
    assert sum(rows.values()) == len(table) == 599
    assert rows == {"train": 301, "validation": 149, "test": 149}
    assert stats.metadata["train_rows"] == rows["train"]


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(
        components.generate_statistics_bq,
        from_config={
            "label_column",
            "train_fraction",
            "validation_fraction",
            "test_fraction",
            "seed",
            "beam_runner",
            "region",
            "bucket",
            "network",
            "subnetwork",
            "service_account",
        },
        # The pipeline binds both: project to project_id, sdk_container_image to the kfx image it derives.
        written={"project": "", "sdk_container_image": ""},
    )
    assert loaded.component_spec.inputs["bq_source"].optional is False
    assert loaded.component_spec.outputs["statistics"].type == "system.Artifact@0.0.1"
