"""Component: TFDV statistics of a table to score, and the Facets view next to the model's training statistics."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, Dataset, Input, Output

from kfx.component import component
from kfx.report import Figure, Report


@component
def generate_scoring_statistics(
    scoring_data: Input[Dataset],
    registered_model: Input[Artifact],
    scoring_statistics: Output[Artifact],
    scoring_statistics_view: Output[HTML],
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ScoringStatisticsOutputs", [("scoring_features", int)]
):
    """Computes TFDV statistics of the columns the model's schema knows (``Split-scoring/stats.tfrecord``,
    readable by ``tfdv.load_statistics``) and an HTML Facets Overview of them vs. the training statistics.

    Args:
        scoring_data: The table to score.
        registered_model: The registry version (its schema and training statistics).
        scoring_statistics: Folder of the binary DatasetFeatureStatisticsList proto.
        scoring_statistics_view: Facets Overview page.

    Returns:
        The number of features described.
    """
    from kfx import scoring

    reference = scoring.read_reference(registered_model.path)
    result = scoring.scoring_statistics(
        scoring_data.path, reference["uri"], scoring_statistics.path, scoring_statistics_view.path
    )
    scoring_statistics.metadata.update(split=scoring.SPLIT, model_uri=reference["uri"], **result)
    return (result["features"],)


def _describe(statistics: dict) -> list[str]:
    return [
        f"statistics  {statistics['features']} features: {statistics['uri']}",
        f"            Facets view (vs. training): {statistics['view']}",
    ]


REPORT = Report(
    generate_scoring_statistics,
    types={"scoring_statistics": "ExampleStatistics"},
    section="scoring_statistics",
    figures=(
        Figure("features", "scoring_features", cast=int),
        Figure("uri", "scoring_statistics"),
        Figure("view", "scoring_statistics_view"),
    ),
    describe=_describe,
    checks_data=True,
    outside=("scoring_statistics.model_uri",),  # the schema and training statistics it read: see predict's REPORT
)
