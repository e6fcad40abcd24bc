"""Component: TFDV statistics of every split, and the Facets view comparing train and eval."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Output

from kfx.config import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def generate_statistics(
    train_data: Input[Dataset],
    validation_data: Input[Dataset],
    test_data: Input[Dataset],
    statistics: Output[Artifact],
    statistics_view: Output[HTML],
    engine: str = "memory",
    beam_options: dict = {},
) -> NamedTuple("StatisticsOutputs", [("features", int)]):
    """Computes TFDV statistics (``Split-<name>/stats.tfrecord``, readable by
    ``tfdv.load_statistics``) and an HTML Facets Overview of train vs. eval.

    Args:
        train_data: Training split.
        validation_data: Validation split (the "eval" side of the view).
        test_data: Test split.
        statistics: Folder of binary DatasetFeatureStatisticsList protos, one per split.
        statistics_view: Facets Overview page.
        engine: "memory" (in this process) or "beam" (a Beam pipeline). Defaults to "memory".
        beam_options: Beam pipeline options for the beam engine (runner, project, region, …).

    Returns:
        The number of features.
    """
    from kfx import steps

    result = steps.generate_statistics(
        train_data.path, validation_data.path, test_data.path, statistics.path, statistics_view.path,
        engine, dict(beam_options or {}),
    )
    statistics.metadata.update(kfx_type="ExampleStatistics", engine=engine, **result)
    return (result["features"],)
