"""Component: TFDV statistics of every split, and the Facets view comparing train and eval."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, Dataset, Input, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def generate_statistics(
    train_data: Input[Dataset],
    validation_data: Input[Dataset],
    test_data: Input[Dataset],
    statistics: Output[Artifact],
    statistics_view: Output[HTML],
    stats_engine: str,
    beam_options: dict = {},
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "StatisticsOutputs", [("features", int)]
):
    """Computes TFDV statistics (``Split-<name>/stats.tfrecord``, readable by
    ``tfdv.load_statistics``) and an HTML Facets Overview of train vs. eval.

    Args:
        train_data: Training split.
        validation_data: Validation split (the "eval" side of the view).
        test_data: Test split.
        statistics: Folder of binary DatasetFeatureStatisticsList protos, one per split.
        statistics_view: Facets Overview page.
        stats_engine: "memory" (in this process) or "beam" (a Beam pipeline).
        beam_options: Beam pipeline options for the beam engine (runner, project, region, …).

    Returns:
        The number of features.
    """
    from kfx import data_steps

    result = data_steps.generate_statistics(
        train_data.path,
        validation_data.path,
        test_data.path,
        statistics.path,
        statistics_view.path,
        stats_engine,
        dict(beam_options or {}),
    )
    statistics.metadata.update(engine=stats_engine, **result)
    return (result["features"],)


def _describe(statistics: dict) -> list[str]:
    return [
        f"statistics  {statistics['features']} features per split: {statistics['uri']}",
        f"            Facets view: {statistics['view']}",
    ]


REPORT = Report(
    generate_statistics,
    types={"statistics": "ExampleStatistics"},
    section="statistics",
    figures=(
        Figure("features", "statistics.features", name="features", kind=DATA, cast=int),
        Figure("uri", "statistics"),
        Figure("view", "statistics_view"),
    ),
    describe=_describe,
    checks_data=True,
)
