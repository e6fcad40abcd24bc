"""Component: read a source table and write a stratified train / validation / test split."""

from typing import NamedTuple

from kfp.dsl import Dataset, Output

from kfx.component import component
from kfx.report import DATA, Figure, Report


@component
def import_dataset(
    source: str,
    train_data: Output[Dataset],
    validation_data: Output[Dataset],
    test_data: Output[Dataset],
    label_column: str,
    train_fraction: float,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
    sample_rows: int,
    task: str = "",
) -> NamedTuple(  # type: ignore[valid-type]  # kfp reads this call as the outputs
    "ImportOutputs", [("train_rows", int), ("validation_rows", int), ("test_rows", int), ("task", str)]
):
    """Reads ``source`` (local / gs:// CSV or Parquet, bq://project.dataset.table; empty for the
    packaged beans table), checks it and writes one CSV Dataset per split.

    Args:
        source: The table URI.
        train_data: Training split (CSV).
        validation_data: Validation split (CSV).
        test_data: Test split (CSV).
        label_column: Class column to stratify on.
        train_fraction: Share of rows for training.
        validation_fraction: Share of rows for validation.
        test_fraction: Share of rows for testing.
        seed: Seed of the split.
        sample_rows: Stratified sample size before splitting; 0 keeps all rows.
        task: classification, regression, or empty to infer it from the label (see :mod:`kfx.tasks`).

    Returns:
        Rows per split, and the task (given or inferred), which the datasets' metadata records too.
    """
    from kfx import data_steps

    result = data_steps.import_dataset(
        source,
        label_column,
        train_data.path,
        validation_data.path,
        test_data.path,
        (train_fraction, validation_fraction, test_fraction),
        seed,
        sample_rows,
        task,
    )
    for split, artifact in (("train", train_data), ("validation", validation_data), ("test", test_data)):
        artifact.metadata.update(
            split=split,
            rows=result[f"{split}_rows"],
            source=result["source"],
            label_column=label_column,
            format="csv",
            seed=seed,
            task=result["task"],
        )
    return (result["train_rows"], result["validation_rows"], result["test_rows"], result["task"])


def _describe(rows: dict) -> list[str]:
    return [f"rows        train {rows['train']}, validation {rows['validation']}, test {rows['test']}"]


REPORT = Report(
    import_dataset,
    section="rows",
    figures=(
        Figure("", "train_data.source", name="source", kind=DATA),
        *(
            Figure(split, f"{split}_rows", name=f"{split}_rows", kind=DATA, cast=int)
            for split in ("train", "validation", "test")
        ),
        Figure("", "task", name="task", kind=DATA),  # on the run (lineage), not among the row counts
    ),
    describe=_describe,
)
