"""Component: read a source table and write a stratified train / validation / test split."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from kfx.config import DEFAULT_IMAGE


@dsl.component(base_image=DEFAULT_IMAGE, install_kfp_package=False)
def import_dataset(
    source: str,
    train_data: Output[Dataset],
    validation_data: Output[Dataset],
    test_data: Output[Dataset],
    label_column: str = "Class",
    train_fraction: float = 0.8,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    sample_rows: int = 0,
) -> NamedTuple("ImportOutputs", [("train_rows", int), ("validation_rows", int), ("test_rows", int)]):
    """Reads ``source`` (local / gs:// CSV or Parquet, bq://project.dataset.table; empty for the
    packaged beans table), checks it and writes one CSV Dataset per split.

    Args:
        source: The table URI.
        train_data: Training split (CSV).
        validation_data: Validation split (CSV).
        test_data: Test split (CSV).
        label_column: Class column to stratify on. Defaults to "Class".
        train_fraction: Share of rows for training. Defaults to 0.8.
        validation_fraction: Share of rows for validation. Defaults to 0.1.
        test_fraction: Share of rows for testing. Defaults to 0.1.
        seed: Seed of the split. Defaults to 42.
        sample_rows: Stratified sample size before splitting; 0 keeps all rows.

    Returns:
        Rows per split.
    """
    from kfx import steps

    result = steps.import_dataset(
        source, label_column, train_data.path, validation_data.path, test_data.path,
        (train_fraction, validation_fraction, test_fraction), seed, sample_rows,
    )
    for split, artifact in (("train", train_data), ("validation", validation_data), ("test", test_data)):
        artifact.metadata.update(
            kfx_type="Dataset", split=split, rows=result[f"{split}_rows"], source=result["source"],
            label_column=label_column, format="csv", seed=seed,
        )
    return (result["train_rows"], result["validation_rows"], result["test_rows"])
