"""Component: TFDV statistics of a BigQuery table, on Dataflow or in memory (vertex target)."""

from typing import NamedTuple

from kfp.dsl import HTML, Artifact, Output

from kfx.component import component
from kfx.components.generate_statistics import REPORT as STATISTICS
from kfx.report import DATA, Figure, Report


@component
def generate_statistics_bq(
    bq_source: str,
    statistics: Output[Artifact],
    statistics_view: Output[HTML],
    label_column: str,
    train_fraction: float,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    beam_runner: str,
    region: str,
    bucket: str,
    network: str,
    subnetwork: str,
    service_account: str,
    project: str = "",
    sdk_container_image: str = "",
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "StatisticsOutputs", [("features", int)]
):
    """Reads ``bq_source`` directly and writes the same statistics artifact as generate_statistics
    (one ``Split-<name>`` folder per split) and the Facets view of train vs. eval.

    Args:
        bq_source: ``bq://project.dataset.table``.
        statistics: Folder of DatasetFeatureStatisticsList protos, one per split.
        statistics_view: Facets Overview page.
        label_column: Class column.
        train_fraction: Share of rows for training.
        validation_fraction: Share of rows for validation.
        test_fraction: Share of rows for testing.
        seed: Seed of the split.
        beam_runner: "DataflowRunner" runs a Beam pipeline on Dataflow; otherwise in memory.
        project: Project of the Dataflow job, billed for reading the table.
        region: Dataflow region.
        bucket: gs:// bucket for Dataflow's temp and staging files.
        network: VPC network of the Dataflow workers.
        subnetwork: Subnetwork of the Dataflow workers.
        sdk_container_image: Dataflow worker image (the kfx image).
        service_account: Service account of the Dataflow workers; empty uses Compute Engine's default.

    Returns:
        The number of features.
    """
    from kfx.vertex import statistics as bq_statistics

    options = bq_statistics.beam_pipeline_options(
        beam_runner, project, region, bucket, network, subnetwork, sdk_container_image, service_account
    )
    result = bq_statistics.generate_statistics_bq(
        bq_source,
        statistics.path,
        statistics_view.path,
        label_column,
        (train_fraction, validation_fraction, test_fraction),
        seed,
        options,
        billing_project=project,
    )
    statistics.metadata.update(source=bq_source, **result)
    return (result["features"],)


REPORT = Report(
    generate_statistics_bq,
    types=STATISTICS.types,
    section=STATISTICS.section,
    figures=(Figure("", "statistics.source", name="source", kind=DATA), *STATISTICS.figures),
    describe=STATISTICS.describe,
    checks_data=True,
)
