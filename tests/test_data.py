"""Reading, checking and splitting tables: the plain functions behind import_dataset."""

import gzip

import pandas as pd
import pytest

from kfx import data
from kfx.errors import DataError, SourceError


def test_packaged_beans_is_the_uci_table(beans):
    assert beans.shape == (13611, 17)
    assert list(beans.columns)[-1] == "Class"
    assert beans["Class"].value_counts().to_dict() == {
        "DERMASON": 3546, "SIRA": 2636, "SEKER": 2027, "HOROZ": 1928, "CALI": 1630, "BARBUNYA": 1322, "BOMBAY": 522,
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
    splits = data.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)
    sizes = {k: len(v) for k, v in splits.items()}
    assert sizes == {"train": 10887, "validation": 1362, "test": 1362}
    assert sum(sizes.values()) == len(beans)
    counts = beans["Class"].value_counts()
    for name, frac in (("train", 0.8), ("validation", 0.1), ("test", 0.1)):
        share = splits[name]["Class"].value_counts()
        for label, n in counts.items():
            assert abs(share[label] - n * frac) <= 1.0
    again = data.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=42)
    assert all(splits[k].equals(again[k]) for k in splits)
    other = data.stratified_split(beans, "Class", (0.8, 0.1, 0.1), seed=7)
    assert not splits["test"].equals(other["test"])
    # Every row lands in exactly one split (the table has duplicate rows, so track ids).
    ids = data.stratified_split(beans.assign(row=range(len(beans))), "Class", (0.8, 0.1, 0.1), seed=42)
    assert sorted(pd.concat([ids[k]["row"] for k in ids])) == list(range(len(beans)))


def test_sample_keeps_class_shares(beans):
    sample = data.stratified_sample(beans, "Class", 600, seed=42)
    assert 595 <= len(sample) <= 605
    assert sample["Class"].value_counts()["BOMBAY"] == round(522 * 600 / 13611)
    assert data.stratified_sample(beans, "Class", 0).shape == beans.shape


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
    with pytest.raises(SourceError, match="needs Google Cloud credentials and a project to bill"):
        data.read_source("bq://aju-dev-demos.beans.beans1")
