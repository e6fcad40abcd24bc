"""Component: TFDV statistics of a BigQuery table, on Dataflow or in memory (vertex target)."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Output

from kfx.config import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def generate_statistics_bq(
    bq_source: str,
    statistics: Output[Artifact],
    statistics_view: Output[HTML],
    label_column: str = "Class",
    train_fraction: float = 0.8,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    beam_runner: str = "DirectRunner",
    project: str = "",
    region: str = "us-central1",
    bucket: str = "",
    network: str = "",
    subnetwork: str = "",
    sdk_container_image: str = "",
    service_account: str = "",
) -> NamedTuple("StatisticsOutputs", [("features", int)]):
    """Reads ``bq_source`` directly and writes the same statistics artifact as generate_statistics
    (one ``Split-<name>`` folder per split) and the Facets view of train vs. eval.

    Args:
        bq_source: ``bq://project.dataset.table``.
        statistics: Folder of DatasetFeatureStatisticsList protos, one per split.
        statistics_view: Facets Overview page.
        label_column: Class column. Defaults to "Class".
        train_fraction: Share of rows for training. Defaults to 0.8.
        validation_fraction: Share of rows for validation. Defaults to 0.1.
        test_fraction: Share of rows for testing. Defaults to 0.1.
        seed: Seed of the split. Defaults to 42.
        beam_runner: "DataflowRunner" runs a Beam pipeline on Dataflow; otherwise in memory.
        project: Project of the Dataflow job, billed for reading the table.
        region: Dataflow region. Defaults to "us-central1".
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
        bq_source, statistics.path, statistics_view.path, label_column,
        (train_fraction, validation_fraction, test_fraction), seed, options, billing_project=project,
    )
    statistics.metadata.update(kfx_type="ExampleStatistics", source=bq_source, **result)
    return (result["features"],)
