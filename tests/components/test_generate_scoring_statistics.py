"""generate_scoring_statistics: TFDV statistics of the table to score, beside the model's training statistics."""

import os

import pandas as pd
from kfp.dsl import HTML, Artifact, Dataset

from kfx import components, scoring, statistics


def test_plain_function_describes_the_columns_the_schema_knows(registered, tmp_path):
    frame_path = tmp_path / "ids.csv"
    pd.read_csv(registered.labelled).assign(row_id=range(60)).to_csv(frame_path, index=False)
    result = scoring.scoring_statistics(
        str(frame_path), registered.uri, str(tmp_path / "stats"), str(tmp_path / "v.html")
    )
    assert result == {"rows": 60, "features": 17}
    loaded = statistics.load_statistics(str(tmp_path / "stats"))
    assert list(loaded) == ["scoring"]
    assert loaded["scoring"].datasets[0].num_examples == 60
    assert "row_id" not in {f.path.step[0] for f in loaded["scoring"].datasets[0].features}
    assert "facets-overview" in (tmp_path / "v.html").read_text()


def test_python_func_records_the_split_rows_and_features(registered, new_artifact, tmp_path):
    stats, view = new_artifact(Artifact, "scoring_statistics"), new_artifact(HTML, "view")
    data = Dataset(name="scoring_data", uri=registered.unlabelled, metadata={})
    assert components.generate_scoring_statistics.python_func(
        scoring_data=data,
        registered_model=registered.reference_artifact(tmp_path),
        scoring_statistics=stats,
        scoring_statistics_view=view,
    ) == (16,)
    assert stats.metadata == {"split": "scoring", "model_uri": registered.uri, "rows": 60, "features": 16}
    assert os.listdir(stats.path) == ["Split-scoring"]


def test_compiled_interface_round_trips(round_trip):
    round_trip(components.generate_scoring_statistics, set())


def _facets_datasets(html: str) -> list[tuple[str, int]]:
    """The (name, rows) of each dataset the Facets page compares, read from the proto it embeds."""
    import base64
    import re

    from tensorflow_metadata.proto.v0 import statistics_pb2

    encoded = re.search(r'proto-input="([^"]+)"', html)[1]
    combined = statistics_pb2.DatasetFeatureStatisticsList.FromString(base64.b64decode(encoded))
    return [(d.name, d.num_examples) for d in combined.datasets]


def test_the_view_compares_the_table_to_score_with_the_training_split(registered, tmp_path):
    scoring.scoring_statistics(registered.labelled, registered.uri, str(tmp_path / "stats"), str(tmp_path / "v.html"))
    training = statistics.load_statistics(os.path.join(registered.uri, "statistics"))["train"]
    assert _facets_datasets((tmp_path / "v.html").read_text()) == [
        ("scoring", 60),
        ("training", training.datasets[0].num_examples),
    ]


def test_a_version_without_a_schema_describes_every_column(registered, tmp_path):
    from kfx import registry

    version = registered.copy_without(tmp_path, registry.SCHEMA_FILE)
    frame_path = tmp_path / "ids.csv"
    pd.read_csv(registered.labelled).assign(row_id=range(60)).to_csv(frame_path, index=False)
    result = scoring.scoring_statistics(str(frame_path), version, str(tmp_path / "stats"), str(tmp_path / "v.html"))
    assert result == {"rows": 60, "features": 18}  # the schema's 17 and row_id
