"""Component: find a model version in the local registry (the champion: its newest version)."""

from typing import NamedTuple

from kfp.dsl import Artifact, Dataset, Input, Output

from kfx import reference
from kfx.component import component
from kfx.report import Report


@component
def find_model(
    registry_dir: str,
    model_name: str,
    table: Input[Dataset],
    registered_model: Output[Artifact],
    label_column: str,
    model_version: str = "latest",
) -> NamedTuple("FindOutputs", [("found", bool)]):  # type: ignore[valid-type]  # kfp reads this call as the outputs
    """Records the registry version ``model_name@model_version`` as a reference later steps read: the
    champion that the new model is compared with and whose training statistics drift is measured
    against. None found is not an error; the reference says why. Nor is a table that lacks a feature
    the version reads: the reference names it, and validation reports it as an anomaly. A version that
    predicts another label column is refused (ModelMismatch).

    Args:
        registry_dir: Root folder of the local registry.
        model_name: Name of the model in the registry.
        registered_model: JSON ``found``, ``model_name``, ``version``, ``uri`` (the version folder),
            ``reason``, ``digest`` (of the folder's content: a step that reads the version is reused
            only while it holds the same files) and, for a version found, ``missing_features`` (those its
            model reads that the table lacks: validate-statistics reports them as anomalies); the same
            keys in its metadata.
        table: A CSV table of this run (the training split, or the table to score).
        label_column: The run's label column; a version found must predict the same (empty: not checked).
        model_version: A version number, or ``latest`` (the champion).

    Returns:
        Whether a version was found.
    """
    import csv

    from kfx import reference, registry, storage
    from kfx.digests import content_digest

    found = registry.resolve(registry_dir, model_name, model_version)
    found["digest"] = content_digest(found["uri"]) if found["found"] else ""
    if found["found"]:
        with storage.open_read(table.path) as f:
            columns = next(csv.reader(line.decode("utf-8") for line in f))
        found["missing_features"] = registry.check_compatible(found, label_column, columns)
    return (reference.write(registered_model, found)["found"],)


def _describe(champion: dict) -> list[str]:
    return reference.describe(f"{champion.get('model_name')} v{champion.get('version')}", champion)


REPORT = Report(
    find_model,
    types={"registered_model": "RegisteredModel"},
    section="champion",
    figures=reference.FIGURES,
    describe=_describe,
)
