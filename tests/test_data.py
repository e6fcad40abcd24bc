"""Reading, checking and splitting tables: the plain functions behind import_dataset."""

import gzip
import io

import pandas as pd
import pytest

from kfx import data, splitting
from kfx.errors import DataError, SourceError


def test_packaged_beans_is_the_uci_table(beans):
    assert beans.shape == (13611, 17)
    assert list(beans.columns)[-1] == "Class"
    assert beans["Class"].value_counts().to_dict() == {
        "DERMASON": 3546,
        "SIRA": 2636,
        "SEKER": 2027,
        "HOROZ": 1928,
        "CALI": 1630,
        "BARBUNYA": 1322,
        "BOMBAY": 522,
    }
    # The first data row of the original file, unchanged by compression.
    assert beans.iloc[0]["Area"] == 28395 and beans.iloc[0]["Class"] == "SEKER"


@pytest.mark.parametrize(
    "uri, words",
    [
        ("/no/such/file.csv", "does not exist"),
        ("s3://bucket/beans.csv", "unknown scheme"),
        ("http://example.com/beans.csv", "unknown scheme"),
        ("bq://Bad Project.beans.beans1", "not a valid BigQuery table id"),
        ("bq://aju-dev-demos.beans", "not a valid BigQuery table id"),
        ("bq://aju-dev-demos.beans.beans1; DROP TABLE x", "not a valid BigQuery table id"),
        ("gs://UPPER/beans.csv", "valid bucket"),
        ("beans.xlsx", "not a .csv, .csv.gz or .parquet file"),
    ],
)
def test_parse_source_refuses_bad_uris(uri, words):
    with pytest.raises(SourceError, match=words):
        data.parse_source(uri)


def test_parse_source_accepts_good_uris(tmp_path):
    assert data.parse_source("bq://aju-dev-demos.beans.beans1").table_id == "aju-dev-demos.beans.beans1"
    assert data.parse_source("gs://my-bucket/data/beans.parquet").kind == "gcs"
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n")
    assert data.parse_source(str(path)).kind == "local"
    assert data.parse_source("").uri == data.beans_path()


def test_reads_csv_gzip_and_parquet_alike(tmp_path, beans_sample):
    csv, gz, pq = tmp_path / "t.csv", tmp_path / "t.csv.gz", tmp_path / "t.parquet"
    beans_sample.to_csv(csv, index=False)
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    beans_sample.to_parquet(pq, index=False)
    frames = [data.read_source(str(p)) for p in (csv, gz, pq)]
    for frame in frames:
        assert frame.shape == beans_sample.shape
        assert frame["Class"].tolist() == beans_sample["Class"].tolist()
        assert frame["Area"].sum() == beans_sample["Area"].sum()


def test_truncated_and_binary_files_are_refused(tmp_path, beans_sample):
    text = beans_sample.to_csv(index=False)
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(SourceError, match="truncated"):
        data.read_source(str(cut))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(SourceError, match="not a readable CSV table"):
        data.read_source(str(binary))
    pq = tmp_path / "t.parquet"
    beans_sample.to_parquet(pq, index=False)
    short = tmp_path / "short.parquet"
    short.write_bytes(pq.read_bytes()[:-100])
    with pytest.raises(SourceError, match="not a readable Parquet table"):
        data.read_source(str(short))
    gz = tmp_path / "cut.csv.gz"
    gz.write_bytes(gzip.compress(text.encode())[:500])
    with pytest.raises(SourceError, match="not a readable CSV table"):
        data.read_source(str(gz))


def test_check_table_errors_name_the_problem(beans_sample):
    with pytest.raises(DataError, match="has no rows"):
        data.check_table(beans_sample.iloc[:0], "Class", (0.8, 0.1, 0.1))
    with pytest.raises(DataError, match="Label column 'Variety' is not in"):
        data.check_table(beans_sample, "Variety", (0.8, 0.1, 0.1))
    few = pd.concat([beans_sample, beans_sample.iloc[:3].assign(Class="NEW")], ignore_index=True)
    with pytest.raises(DataError, match="Class 'NEW' of 'Class' has 3 row\\(s\\).*at least 10"):
        data.check_table(few, "Class", (0.8, 0.1, 0.1))
    bad = beans_sample.astype({"Area": object})
    bad.loc[17, "Area"] = "12x4"
    with pytest.raises(DataError, match="Column 'Area' .* line 19 holds '12x4'"):
        data.check_table(bad, "Class", (0.8, 0.1, 0.1))


def test_check_table_keeps_real_categorical_columns(beans_sample):
    table = beans_sample.assign(Farm=[("north", "south")[i % 2] for i in range(len(beans_sample))])
    checked = data.check_table(table, "Class", (0.8, 0.1, 0.1))
    assert checked["Farm"].dtype == object
    numeric_text = beans_sample.astype({"Area": str})
    assert data.check_table(numeric_text, "Class", (0.8, 0.1, 0.1))["Area"].dtype.kind in "if"


def test_split_is_stratified_deterministic_and_complete(beans):
    splits = splitting.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)
    sizes = {k: len(v) for k, v in splits.items()}
    assert sizes == {"train": 10887, "validation": 1362, "test": 1362}
    assert sum(sizes.values()) == len(beans)
    counts = beans["Class"].value_counts()
    for name, frac in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        share = splits[name]["Class"].value_counts()
        for label, n in counts.items():
            assert abs(share[label] - n * frac) <= 1.0
    again = splitting.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)
    assert all(splits[k].equals(again[k]) for k in splits)
    other = splitting.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=7)
    assert not splits["test"].equals(other["test"])
    # Every row lands in exactly one split (the table has duplicate rows, so track ids).
    ids = splitting.stratified_split(beans.assign(row=range(len(beans))), "Class", (0.8, 0.1, 0.1), seed=42)
    assert sorted(pd.concat([ids[k]["row"] for k in ids])) == list(range(len(beans)))


def test_sample_keeps_class_shares(beans):
    sample = splitting.stratified_sample(beans, "Class", 600, seed=42)
    assert 595 <= len(sample) <= 605
    assert sample["Class"].value_counts()["BOMBAY"] == round(522 * 600 / 13611)
    assert splitting.stratified_sample(beans, "Class", 0, 42).shape == beans.shape


def test_bigquery_source_reads_the_table_by_reference(monkeypatch, beans_sample):
    """BigQuery cannot be reached here: the client is patched at its edge, and the test asserts
    the table is read by reference (validated id, never pasted into SQL) through the Storage API."""
    from unittest import mock

    from google.cloud import bigquery

    client = mock.MagicMock(name="bigquery.Client()")
    client.list_rows.return_value.to_dataframe.return_value = beans_sample
    factory = mock.MagicMock(return_value=client)
    monkeypatch.setattr(bigquery, "Client", factory)
    frame = data.read_source("bq://aju-dev-demos.beans.beans1")
    assert frame is beans_sample
    factory.assert_called_once_with(project=None)  # billed to the caller's default project, not the table's
    client.get_table.assert_called_once_with("aju-dev-demos.beans.beans1")
    client.list_rows.assert_called_once_with(client.get_table.return_value)
    client.list_rows.return_value.to_dataframe.assert_called_once_with(create_bqstorage_client=True)
    assert not client.query.called


def test_bigquery_without_credentials_is_one_sentence(monkeypatch, tmp_path):
    """No credentials exist on this machine: the real client fails, and kfx says what to do."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(SourceError) as caught:
        data.read_source("bq://aju-dev-demos.beans.beans1")
    assert str(caught.value) == (
        f"Reading bq://aju-dev-demos.beans.beans1 needs Google Cloud credentials and a project to bill "
        f"(File {tmp_path / 'none.json'} was not found.); "
        "run `gcloud auth application-default login` and set GOOGLE_CLOUD_PROJECT."
    )


def test_split_sizes_follow_each_fraction_by_name(beans):
    """0.7/0.2/0.1: validation and test differ in size, so swapping them cannot pass unnoticed.
    Per class, test = round(n * 0.1) and validation = round(n * 0.2); train takes the rest."""
    splits = splitting.stratified_split(beans, "Class", (0.7, 0.2, 0.1), seed=42)
    assert {k: len(v) for k, v in splits.items()} == {"train": 9528, "validation": 2721, "test": 1362}
    # BARBUNYA has 1322 rows: test round(132.2) = 132, validation round(264.4) = 264, train 926.
    assert {k: int((v["Class"] == "BARBUNYA").sum()) for k, v in splits.items()} == {
        "train": 926,
        "validation": 264,
        "test": 132,
    }


def test_split_of_a_small_hand_made_table():
    table = pd.DataFrame({"x": range(30), "label": ["a"] * 10 + ["b"] * 20})
    splits = splitting.stratified_split(table, "label", (0.7, 0.2, 0.1), seed=3)
    counts = {k: v["label"].value_counts().to_dict() for k, v in splits.items()}
    assert counts == {"train": {"a": 7, "b": 14}, "validation": {"a": 2, "b": 4}, "test": {"a": 1, "b": 2}}
    # Rows keep the table's order within each split, and the index starts again at 0.
    for frame in splits.values():
        assert list(frame["x"]) == sorted(frame["x"]) and list(frame.index) == list(range(len(frame)))
    # A class too small for its share still gets one row in test and one in validation.
    tiny = pd.DataFrame({"x": range(3), "label": ["c"] * 3})
    assert {k: len(v) for k, v in splitting.stratified_split(tiny, "label", (0.8, 0.1, 0.1), 42).items()} == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }


def test_empty_label_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "t.csv"
    rows = ["a,Class"] + [f"{i},{'x' if i % 2 else 'y'}" for i in range(40)]
    rows[5] = "4,"  # data row 5 of the file is line 6 (the header is line 1)
    path.write_text("\n".join(rows) + "\n")
    table = data.read_source(str(path))
    with pytest.raises(DataError) as caught:
        data.check_table(table, "Class", (0.8, 0.1, 0.1), source="source 't.csv'")
    assert str(caught.value) == "Label column 'Class' of source 't.csv' is empty in line 6; fill or drop that row."


def test_a_table_with_only_the_label_column_is_refused():
    table = pd.DataFrame({"Class": ["a", "b"] * 20})
    with pytest.raises(DataError) as caught:
        data.check_table(table, "Class", (0.8, 0.1, 0.1))
    assert str(caught.value) == "the table has only the label column; add feature columns."


def test_check_table_sentences_are_exact(beans_sample):
    with pytest.raises(DataError) as caught:
        data.check_table(beans_sample.iloc[:0], "Class", (0.8, 0.1, 0.1), source="source 'b.csv'")
    assert str(caught.value) == "source 'b.csv' has no rows; pass a table with data."
    with pytest.raises(DataError) as caught:
        data.check_table(pd.DataFrame({"a": [1], "b": [2]}), "Class", (0.8, 0.1, 0.1))
    assert str(caught.value) == (
        "Label column 'Class' is not in the table (columns: a, b); pass --label-column with one of them."
    )
    wide = pd.DataFrame({f"c{i}": [1] for i in range(25)})
    with pytest.raises(DataError) as caught:
        data.check_table(wide, "Class", (0.8, 0.1, 0.1))
    assert "(columns: c0, c1, " in str(caught.value) and "c19)" in str(caught.value) and "c20" not in str(caught.value)


def test_each_class_needs_one_row_per_split_and_no_more():
    """With a 0.1 share a class needs 10 rows: 10 pass, 9 do not (1 / 0.1 is 10.000000000000002 in floats)."""

    def table(n_small):
        return pd.DataFrame({"x": range(20 + n_small), "label": ["big"] * 20 + ["small"] * n_small})

    assert len(data.check_table(table(10), "label", (0.8, 0.1, 0.1))) == 30
    with pytest.raises(DataError) as caught:
        data.check_table(table(9), "label", (0.8, 0.1, 0.1))
    assert str(caught.value) == (
        "Class 'small' of 'label' has 9 row(s), too few to appear in every split "
        "(each class needs at least 10); add rows of that class or drop it."
    )
    # The smallest fraction decides: 0.25 needs 4 rows.
    assert len(data.check_table(table(4)[["x", "label"]], "label", (0.5, 0.25, 0.25))) == 24
    with pytest.raises(DataError, match="has 3 row\\(s\\).*at least 4"):
        data.check_table(table(3), "label", (0.5, 0.25, 0.25))


def test_a_column_is_numeric_when_nine_in_ten_values_are_numbers():
    nine = pd.DataFrame({"v": ["1", "2", "3", "4", "5", "6", "7", "8", "9", "ten"] * 2, "label": ["a", "b"] * 10})
    with pytest.raises(DataError) as caught:
        data.check_table(nine, "label", (0.5, 0.25, 0.25))
    assert str(caught.value) == (
        "Column 'v' of the table is numeric but line 11 holds 'ten'; fix or remove that value."
    )
    eight = nine.assign(v=["1", "2", "3", "4", "5", "6", "7", "8", "nine", "ten"] * 2)
    assert data.check_table(eight, "label", (0.5, 0.25, 0.25))["v"].tolist() == eight["v"].tolist()
    # Empty cells do not count against a numeric column; they stay empty.
    gaps = pd.DataFrame({"v": ["1.5", None, "2.5", "3"] * 5, "label": ["a", "b"] * 10})
    checked = data.check_table(gaps, "label", (0.5, 0.25, 0.25))
    assert checked["v"].dtype.kind == "f" and checked["v"].isna().sum() == 5 and checked["v"].sum() == 35.0
    # The table passed in is not changed.
    assert gaps["v"].iloc[0] == "1.5"


def test_stratified_sample_keeps_all_rows_when_asked_for_as_many_or_more(beans_sample):
    n = len(beans_sample)
    assert splitting.stratified_sample(beans_sample, "Class", n, 42) is beans_sample
    assert splitting.stratified_sample(beans_sample, "Class", n + 1, 42) is beans_sample
    assert splitting.stratified_sample(beans_sample, "Class", -5, 42) is beans_sample
    half = splitting.stratified_sample(beans_sample, "Class", 300, seed=1)
    # Each class keeps round(its rows * 300 / 599) rows: SEKER 89 -> 44.57 -> 45, BOMBAY 23 -> 11.52 -> 12.
    expected = {"DERMASON": 78, "SIRA": 58, "SEKER": 45, "HOROZ": 43, "CALI": 36, "BARBUNYA": 29, "BOMBAY": 12}
    assert half["Class"].value_counts().to_dict() == expected
    assert list(half.index) == list(range(len(half)))
    one = splitting.stratified_sample(beans_sample, "Class", 1, 42)
    assert one["Class"].value_counts().to_dict() == dict.fromkeys(expected, 1)


def test_source_uri_forms(tmp_path):
    assert data.parse_source("  ").uri == data.beans_path()
    assert data.parse_source("bq://example.com:my-project.ds.t") == data.Source(
        "bq://example.com:my-project.ds.t", "bigquery", "example.com:my-project.ds.t"
    )
    csv_gz = tmp_path / "T.CSV.GZ"
    csv_gz.write_bytes(b"")
    assert data.parse_source(str(csv_gz)) == data.Source(str(csv_gz), "local", "")
    with pytest.raises(SourceError) as caught:
        data.parse_source("s3://b/t.csv")
    assert str(caught.value) == (
        "'s3://b/t.csv' has an unknown scheme; use a local path, gs://BUCKET/PATH or bq://PROJECT.DATASET.TABLE."
    )
    with pytest.raises(SourceError) as caught:
        data.parse_source(str(tmp_path / "none.parquet"))
    assert str(caught.value) == (
        f"Source file {str(tmp_path / 'none.parquet')!r} does not exist; pass "
        "the path of an existing .csv or .parquet file."
    )


def test_a_csv_cut_after_a_whole_row_is_read_and_one_cut_mid_row_is_refused(tmp_path):
    whole = tmp_path / "whole.csv"
    whole.write_text("a,b,c\n1,2,3\n4,5,6")  # no final newline, but the last row is complete
    assert data.read_source(str(whole)).shape == (2, 3)
    cut = tmp_path / "cut.csv"
    cut.write_text("a,b,c\n1,2,3\n4,5")
    with pytest.raises(SourceError) as caught:
        data.read_source(str(cut))
    assert (
        str(caught.value)
        == f"{str(cut)!r} ends in the middle of a row (line 3), so the file is truncated; copy or export it again."
    )
    one_line = tmp_path / "header.csv"
    one_line.write_text("a,b,c")
    assert data.read_source(str(one_line)).shape == (0, 3)


def test_text_with_a_nul_byte_is_binary(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_text("a,b\n1,2\x003\n")
    with pytest.raises(SourceError) as caught:
        data.read_source(str(path))
    assert str(caught.value) == (
        f"{str(path)!r} is not a readable CSV table (binary content); it may be truncated or binary: "
        "export it again or pass another file."
    )


def test_a_short_row_is_truncation_only_when_it_ends_the_file_without_a_newline(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("a,b,c\n1,2,3\n4,5\n")  # a short last row, but the file ends properly
    frame = data.read_source(str(short))
    assert frame.shape == (2, 3) and frame["c"].isna().tolist() == [False, True]
    two_lines = tmp_path / "two.csv"
    two_lines.write_text("a,b,c\n1,2")
    with pytest.raises(SourceError, match="ends in the middle of a row \\(line 2\\)"):
        data.read_source(str(two_lines))
    short_first = tmp_path / "short_first.csv"
    short_first.write_text("a,b,c\n1,2\n4,5")  # compared with the header, not with the row before
    with pytest.raises(SourceError, match="ends in the middle of a row \\(line 3\\)"):
        data.read_source(str(short_first))


def test_first_line_of_an_error():
    assert data._first_line(ValueError("first\nsecond")) == "first"
    assert data._first_line(ValueError("  ")) == "ValueError"
    assert data._first_line(ValueError("x" * 200)) == "x" * 120


def test_numbers_as_text_in_any_column_become_numbers_but_the_label_stays(beans_sample):
    table = beans_sample.astype({"ShapeFactor4": str}).assign(
        Class=beans_sample["Class"].map({c: str(i) for i, c in enumerate(sorted(beans_sample["Class"].unique()))})
    )
    checked = data.check_table(table, "Class", (0.8, 0.1, 0.1))
    assert checked["ShapeFactor4"].dtype.kind == "f" and checked["ShapeFactor4"].sum() == pytest.approx(
        beans_sample["ShapeFactor4"].sum()
    )
    assert checked["Class"].dtype == object and sorted(checked["Class"].unique()) == list("0123456")


def test_a_sample_is_the_same_for_a_seed_and_keeps_the_tables_row_order(beans):
    table = beans.assign(row=range(len(beans)))
    first = splitting.stratified_sample(table, "Class", 300, seed=5)
    assert first.equals(splitting.stratified_sample(table, "Class", 300, seed=5))
    assert list(first["row"]) == sorted(first["row"])
    assert not first.equals(splitting.stratified_sample(table, "Class", 300, seed=6))


def test_labels_of_mixed_kinds_are_split_too():
    table = pd.DataFrame({"x": range(20), "label": [1] * 10 + ["a"] * 10})
    splits = splitting.stratified_split(table, "label", (0.8, 0.1, 0.1), 42)
    assert {k: len(v) for k, v in splits.items()} == {"train": 16, "validation": 2, "test": 2}


# --- the import step's text path: cells copied as the source has them ------------------------


def _awkward_table(rows: int = 400):
    """A source CSV's text: doubles printed with all 17 digits, ints, huge ints, dates, text that
    needs quotes, markers of missing values, two classes; and the doubles it holds."""
    import numpy as np

    rng = np.random.default_rng(3)
    doubles = rng.random(rows) * 10.0 ** rng.integers(-8, 12, rows)
    lines = ['x,n,big,day,"note, quoted",Class']
    for i, value in enumerate(doubles):
        note = ('say "hi", twice' if i % 7 == 0 else "plain") if i % 11 else ""
        note = f'"{note.replace(chr(34), chr(34) * 2)}"' if ("," in note or '"' in note) else note
        n = "NA" if i % 13 == 0 else str(i - 50)
        lines.append(f"{value!r},{n},{10**20 + i},2026-11-{1 + i % 28:02d},{note},{'ab'[i % 2]}")
    return "\n".join(lines) + "\n", doubles


def test_the_import_copies_every_cell_and_keeps_floats_to_the_last_bit(tmp_path):
    import numpy as np

    from kfx import data_steps

    text, doubles = _awkward_table()
    source = tmp_path / "awkward.csv"
    source.write_text(text)
    # The test has teeth: pandas' default parser rounds some of these doubles wrong.
    assert (pd.read_csv(source)["x"].to_numpy() != doubles).any()
    paths = [str(tmp_path / f"{s}.csv") for s in splitting.SPLITS]
    data_steps.import_dataset(str(source), "Class", *paths, (0.8, 0.1, 0.1), 42, 0)

    header, *rows = text.splitlines()
    # "NA" marks a missing value, as pandas reads it: it is written as an empty cell.
    expected = [row.replace(",NA,", ",,") for row in rows]
    written = []
    for path in paths:
        lines = open(path).read().splitlines()
        assert lines[0] == header
        assert lines[1:] == sorted(lines[1:], key=expected.index)  # each split keeps the source's order
        written += lines[1:]
    assert sorted(written) == sorted(expected)
    # Every double reads back as the same 64 bits, and huge integers keep all their digits.
    back = pd.concat([pd.read_csv(p, float_precision="round_trip") for p in paths])
    assert sorted(back["x"].to_numpy().view(np.int64)) == sorted(doubles.view(np.int64))
    assert sorted(back["big"].astype(str)) == [str(10**20 + i) for i in range(len(doubles))]
    assert back["n"].isna().sum() == len([r for r in rows if ",NA," in r])


def test_the_beans_splits_are_the_packaged_tables_lines_in_its_order(beans):
    import gzip

    from kfx import csvtext

    lines = gzip.decompress(open(data.beans_path(), "rb").read()).decode().splitlines()
    table = data.read_text_table("")
    assert table.column_names == list(beans.columns) and table.num_rows == len(beans) == len(lines) - 1
    positions = splitting.split_positions(csvtext.typed_frame(table)["Class"], (0.8, 0.1, 0.1), 42)
    # The same rows as the split of the table pandas reads, in the same order.
    frames = splitting.stratified_split(beans, "Class", (0.8, 0.1, 0.1), 42)
    for split, rows in positions.items():
        assert frames[split].equals(beans.iloc[rows].reset_index(drop=True))
        out = io.BytesIO()
        csvtext.write_csv(table.take(rows), out)
        assert out.getvalue().decode().splitlines() == [lines[0]] + [lines[1 + i] for i in rows]


def test_rows_arrows_reader_refuses_are_read_as_pandas_reads_them(tmp_path):
    from kfx import csvtext

    short = tmp_path / "short.csv"
    short.write_text('a,b,c,d\n1,2,3\n4,5\n"6\nsix",7,8\n')
    table = data.read_text_table(str(short))
    assert table.to_pydict() == {
        "a": ["1", "4", "6\nsix"],
        "b": ["2", "5", "7"],
        "c": ["3", None, "8"],
        "d": [None, None, None],
    }
    out = io.BytesIO()
    csvtext.write_csv(table, out)
    assert out.getvalue() == b'a,b,c,d\n1,2,3,\n4,5,,\n"6\nsix",7,8,\n'


@pytest.mark.parametrize(
    "text",
    [
        "\na,b\n1,2\n",  # a blank line before the header
        '"a\nx",b\n1,2\n',  # a line break in a quoted column name
        'a,b\n"1\n1",2\n3,"4,4"\n',  # a line break and a comma in quoted cells
        "\ufeffa,b\r\n1,2\r\n\r\n3,4\r\n",  # a byte-order mark, CRLF and an empty line
    ],
)
def test_arrows_reader_reads_what_pandas_reads(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    table = data.read_text_table(str(path))
    assert table.to_pydict() == pd.read_csv(path, dtype=str).to_dict("list")


def test_names_and_missing_cells_follow_pandas(tmp_path):
    # A name written twice is refused (tests/faults/test_input_faults.py); one pandas would make up is kept.
    path = tmp_path / "t.csv"
    path.write_text("a,a.1,,d\n1,NA,null,\n2,<NA>,x,n/a\n")
    table = data.read_text_table(str(path))
    assert table.column_names == list(pd.read_csv(path).columns) == ["a", "a.1", "Unnamed: 2", "d"]
    assert table.to_pydict() == {"a": ["1", "2"], "a.1": [None, None], "Unnamed: 2": [None, "x"], "d": [None, None]}


def test_typed_sources_are_written_as_to_csv_writes_them(tmp_path):
    from kfx import csvtext

    frame = pd.DataFrame(
        {
            "f": [0.1, 1e-05, 28395.0, float("nan")],
            "i": [1, -2, 3, 4],
            "b": [True, False, True, False],
            "s": ["x", 'q"r', "a,b", None],
            "none": [None] * 4,
            "Class": ["p", "q", "p", "q"],
        }
    )
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    out = io.BytesIO()
    csvtext.write_csv(data.read_text_table(str(tmp_path / "t.parquet")), out)
    assert out.getvalue().decode() == frame.to_csv(index=False)


def test_typed_frame_types_columns_as_pandas_reads_them(tmp_path):
    from kfx import csvtext

    path = tmp_path / "t.csv"
    path.write_text("i,g,f,s,e\n1,1,1.5,x,\n2,,2,3,\n")
    typed = csvtext.typed_frame(data.read_text_table(str(path)))
    assert (
        typed.dtypes.astype(str).to_dict()
        == pd.read_csv(path).dtypes.astype(str).to_dict()
        == {"i": "int64", "g": "float64", "f": "float64", "s": "object", "e": "float64"}
    )


def test_a_local_source_is_refused_from_its_ends_without_reading_it_whole(tmp_path, monkeypatch):
    from kfx import csvtext, storage

    monkeypatch.setattr(storage, "read_bytes", lambda uri: pytest.fail("a local CSV is read by pyarrow, not whole"))
    cut = tmp_path / "cut.csv"
    cut.write_text("a,b,c\n" + "1,2,3\n" * 300000 + "4,5")
    with pytest.raises(SourceError, match=r"ends in the middle of a row \(line 300002\)"):
        data.read_text_table(str(cut))
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"a,b\n" + bytes(range(256)))
    with pytest.raises(SourceError, match=r"not a readable CSV table \(binary content\)"):
        data.read_text_table(str(binary))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("a,b\ncafé,1\n".encode("latin-1"))
    with pytest.raises(SourceError, match="not a readable CSV table .*utf-8"):
        data.read_text_table(str(bad))
    assert csvtext.first_line(ValueError("one\ntwo")) == "one"


def test_a_gzip_csv_cut_mid_row_or_mid_stream_is_named_exactly(tmp_path):
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(gzip.compress(b"a,b,c\n1,2,3\n4,5"))
    with pytest.raises(SourceError) as caught:
        data.read_text_table(str(cut))
    assert str(caught.value) == (
        f"{str(cut)!r} ends in the middle of a row (line 3), so the file is truncated; copy or export it again."
    )
    stream = tmp_path / "stream.csv.gz"
    stream.write_bytes(gzip.compress(b"a,b,c\n1,2,3\n" * 100)[:-12])
    for read in (data.read_text_table, data.read_source):
        with pytest.raises(SourceError) as caught:
            read(str(stream))
        assert str(caught.value) == (
            f"{str(stream)!r} is not a readable CSV table (Compressed file ended before the end-of-stream marker "
            "was reached); it may be truncated or binary: export it again or pass another file."
        )


def test_a_row_with_too_many_cells_is_named_by_pandas_words(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("a,b\n1,2\n3,4,5\n")
    for read in (data.read_text_table, data.read_source):
        with pytest.raises(SourceError) as caught:
            read(str(path))
        assert str(caught.value) == (
            f"{str(path)!r} is not a readable CSV table (Error tokenizing data. C error: Expected 2 fields in line 3, "
            "saw 3); it may be truncated or binary: export it again or pass another file."
        )


def test_the_truncation_check_reads_lines_and_cells_past_the_first_megabyte(tmp_path):
    # A complete last row whose cells hold spaces is not a cut row.
    spaced = tmp_path / "spaced.csv"
    spaced.write_text("a b,c d,e\n1,2 ,3")
    assert data.read_text_table(str(spaced)).to_pydict() == {"a b": ["1"], "c d": ["2 "], "e": ["3"]}
    spaced.write_text("a b,c d,e\n1,2")  # cut: the header's commas count, spaces or not
    with pytest.raises(SourceError, match=r"ends in the middle of a row \(line 2\)"):
        data.read_text_table(str(spaced))
    # The last line alone is longer than the bytes read from the end.
    long_last = tmp_path / "long_last.csv"
    long_last.write_text("a,b\n1,2\n" + "x" * (1 << 21))
    with pytest.raises(SourceError, match=r"ends in the middle of a row \(line 3\)"):
        data.read_text_table(str(long_last))
    # The header alone is longer than the bytes read from the start.
    names = ",".join(f"column{i}" for i in range(150000))
    long_header = tmp_path / "long_header.csv"
    long_header.write_text(names + "\n1,2")
    with pytest.raises(SourceError, match=r"ends in the middle of a row \(line 2\)"):
        data.read_text_table(str(long_header))
    # Line numbers count every block of a file larger than one read.
    big = tmp_path / "big.csv"
    big.write_text("a,b,c\n" + "1,2,3\n" * 3_000_000 + "4,5")
    with pytest.raises(SourceError, match=r"ends in the middle of a row \(line 3000002\)"):
        data.read_text_table(str(big))


def test_arrow_reads_a_clean_file_and_a_quoted_line_break_cannot_split_a_row(tmp_path, monkeypatch):
    read_csv = pd.read_csv

    def header_only(*args, **kwargs):
        # nrows=0 gives the names pandas makes; header=None with nrows=1 the header's cells as written.
        only_header = kwargs.get("nrows") == 0 or (kwargs.get("header", "infer") is None and kwargs.get("nrows") == 1)
        assert only_header, "a clean file is read by pyarrow; pandas reads only its header"
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", header_only)
    path = tmp_path / "t.csv"
    # Read line by line, the quoted cell's two lines would each have two cells: two rows.
    path.write_text('a,b\n"x,\ny",1\n')
    assert data.read_text_table(str(path)).to_pydict() == {"a": ["x,\ny"], "b": ["1"]}
    # pyarrow reads a large file in blocks; a block may end inside a quoted line break.
    path.write_text("a,b\n" + '1,"x\ny"\n' * 400_000)
    table = data.read_text_table(str(path))
    assert table.num_rows == 400_000 and set(table.column("b").to_pylist()) == {"x\ny"}
    # Column names that look like numbers do not make their columns numbers: 007 stays 007.
    path.write_text("1,2\n007,1.50\n")
    assert data.read_text_table(str(path)).to_pydict() == {"1": ["007"], "2": ["1.50"]}


def test_written_text_comes_in_batches_and_a_single_row_is_written(tmp_path, monkeypatch):
    import pyarrow as pa

    from kfx import csvtext

    writes = []

    class Out:
        def write(self, chunk):
            writes.append(bytes(chunk))

    monkeypatch.setattr(csvtext, "BATCH_ROWS", 2)
    csvtext.write_csv(pa.table({"a": ["1", "2", "3"], "b": ["x", None, "z"]}), Out())
    assert writes == [b"a,b\n", b"1,x\n2,\n", b"3,z\n"]
    writes.clear()
    csvtext.write_csv(pa.table({"a": ["1"]}), Out())
    csvtext.write_csv(pa.table({"a": pa.array([], pa.string())}), Out())
    assert writes == [b"a\n", b"1\n", b"a\n"]


def test_a_bigquery_source_is_read_as_text_billed_to_the_project_given(monkeypatch, beans_sample):
    """BigQuery cannot be reached here: the client is patched at its edge."""
    from unittest import mock

    from google.cloud import bigquery

    from kfx import csvtext

    client = mock.MagicMock(name="bigquery.Client()")
    client.list_rows.return_value.to_dataframe.return_value = beans_sample
    factory = mock.MagicMock(return_value=client)
    monkeypatch.setattr(bigquery, "Client", factory)
    table = data.read_text_table("bq://aju-dev-demos.beans.beans1", billing_project="my-project")
    factory.assert_called_once_with(project="my-project")
    out = io.BytesIO()
    csvtext.write_csv(table, out)
    assert out.getvalue().decode() == beans_sample.to_csv(index=False)


def test_a_damaged_parquet_file_is_named_with_the_readers_words(tmp_path, beans_sample):
    path = tmp_path / "t.parquet"
    beans_sample.to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(SourceError) as caught:
        data.read_text_table(str(path))
    assert str(caught.value).startswith(f"{str(path)!r} is not a readable Parquet table (")
    assert "(None)" not in str(caught.value) and "Parquet" in str(caught.value).split("(", 1)[1]
