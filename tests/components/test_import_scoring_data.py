"""import_scoring_data: a table to score, refused when the model cannot read it, the label optional."""

import pandas as pd
import pytest
from kfp.dsl import Dataset

from kfx import components, scoring
from kfx.errors import DataError, ModelMismatch


def test_plain_function_keeps_the_cells_and_says_whether_the_label_is_there(registered, tmp_path):
    out = tmp_path / "scoring.csv"
    result = scoring.import_scoring_data(registered.labelled, registered.reference, str(out))
    assert out.read_bytes() == open(registered.labelled, "rb").read()
    assert {k: result[k] for k in ("rows", "labelled", "label_column", "unchecked")} == {
        "rows": 60,
        "labelled": True,
        "label_column": "Class",
        "unchecked": [],
    }
    result = scoring.import_scoring_data(registered.unlabelled, registered.reference, str(tmp_path / "u.csv"))
    assert (result["rows"], result["labelled"]) == (60, False)


def test_plain_function_carries_columns_the_schema_does_not_know(registered, tmp_path):
    frame = pd.read_csv(registered.unlabelled).assign(row_id=range(60))
    frame.to_csv(tmp_path / "ids.csv", index=False)
    result = scoring.import_scoring_data(str(tmp_path / "ids.csv"), registered.reference, str(tmp_path / "o.csv"))
    assert result["unchecked"] == ["row_id"]
    assert list(pd.read_csv(tmp_path / "o.csv").columns)[-1] == "row_id"


def test_plain_function_refuses_a_table_without_a_feature_the_model_reads(registered, tmp_path):
    pd.read_csv(registered.labelled).drop(columns=["Area"]).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ModelMismatch) as error:
        scoring.import_scoring_data(str(tmp_path / "t.csv"), registered.reference, str(tmp_path / "o.csv"))
    assert str(error.value) == (
        f"Column 'Area' that model beans v1 reads is not in '{tmp_path / 't.csv'}'; add it to the table, or score the "
        "table with a model trained on its columns."
    )
    assert not (tmp_path / "o.csv").exists()
    pd.read_csv(registered.labelled).drop(columns=["Area", "Extent"]).to_csv(tmp_path / "t2.csv", index=False)
    with pytest.raises(ModelMismatch) as error:
        scoring.import_scoring_data(str(tmp_path / "t2.csv"), registered.reference, str(tmp_path / "o.csv"))
    assert str(error.value) == (
        f"Columns 'Area', 'Extent' that model beans v1 reads are not in '{tmp_path / 't2.csv'}'; add them to the "
        "table, or score the table with a model trained on its columns."
    )


def test_plain_function_refuses_text_where_the_schema_has_numbers(registered, tmp_path):
    frame = pd.read_csv(registered.unlabelled).astype({"Perimeter": object})
    frame.loc[2, "Perimeter"] = "wide"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ModelMismatch) as error:
        scoring.import_scoring_data(str(tmp_path / "t.csv"), registered.reference, str(tmp_path / "o.csv"))
    assert str(error.value) == (
        f"Column 'Perimeter' of '{tmp_path / 't.csv'}' holds 'wide' in line 4, but model beans v1 was trained on "
        "numbers there (FLOAT in its schema); fix that value, or score the table with a model trained on its columns."
    )
    assert not (tmp_path / "o.csv").exists()


def test_plain_function_refuses_a_column_named_like_a_predictions_column(registered, tmp_path):
    pd.read_csv(registered.unlabelled).assign(model_version=3).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(
        DataError,
        match="^Column 'model_version' of .* has the name of a column the predictions add; rename or drop it.$",
    ):
        scoring.import_scoring_data(str(tmp_path / "t.csv"), registered.reference, str(tmp_path / "o.csv"))


def test_python_func_records_rows_label_and_version(registered, new_artifact, tmp_path):
    data = new_artifact(Dataset, "scoring_data")
    assert components.import_scoring_data.python_func(
        source=registered.unlabelled,
        registered_model=registered.reference_artifact(tmp_path),
        scoring_data=data,
    ) == (60, False)
    assert data.metadata == {
        "rows": 60,
        "source": registered.unlabelled,
        "labelled": False,
        "label_column": "Class",
        "unchecked": [],
        "format": "csv",
        "model_name": "beans",
        "version": "1",
    }


def test_compiled_interface_round_trips(round_trip):
    round_trip(components.import_scoring_data, set())


def test_plain_function_takes_one_row_refuses_none_and_names_the_predictions_own_column(registered, tmp_path):
    source = pd.read_csv(registered.labelled)
    source.head(1).to_csv(tmp_path / "one.csv", index=False)
    result = scoring.import_scoring_data(str(tmp_path / "one.csv"), registered.reference, str(tmp_path / "o.csv"))
    assert (result["rows"], result["columns"]) == (1, list(source.columns))
    source.head(0).to_csv(tmp_path / "none.csv", index=False)
    with pytest.raises(DataError) as error:
        scoring.import_scoring_data(str(tmp_path / "none.csv"), registered.reference, str(tmp_path / "n.csv"))
    assert str(error.value) == f"{str(tmp_path / 'none.csv')!r} has no rows; pass a table with rows to score."
    assert not (tmp_path / "n.csv").exists()
    source.assign(predicted_Class="x").to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(DataError, match="^Column 'predicted_Class' of "):
        scoring.import_scoring_data(str(tmp_path / "p.csv"), registered.reference, str(tmp_path / "q.csv"))


def test_plain_function_checks_numbers_after_a_text_column_the_schema_does_not_know(registered, tmp_path):
    frame = pd.read_csv(registered.unlabelled).astype({"Perimeter": object})
    frame.insert(0, "note", "ok")
    frame.loc[2, "Perimeter"] = "wide"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ModelMismatch, match="^Column 'Perimeter' of .* holds 'wide' in line 4"):
        scoring.import_scoring_data(str(tmp_path / "t.csv"), registered.reference, str(tmp_path / "o.csv"))


def test_plain_function_with_a_version_without_a_schema_checks_features_only(registered, tmp_path):
    from kfx import registry

    version = registered.copy_without(tmp_path, registry.SCHEMA_FILE)
    frame = pd.read_csv(registered.unlabelled).assign(row_id=range(60))
    frame.to_csv(tmp_path / "ids.csv", index=False)
    result = scoring.import_scoring_data(
        str(tmp_path / "ids.csv"), {**registered.reference, "uri": version}, str(tmp_path / "o.csv")
    )
    assert (result["rows"], result["unchecked"]) == (60, [])
