"""Local paths through kfx.storage (``gs://`` is tested against the GCS-API server in tests/vertex)."""

import os

import pytest

from kfx import storage
from kfx.errors import SourceError


def test_a_file_appears_whole_from_a_hidden_file_beside_it(tmp_path, monkeypatch):
    moves = []
    replace = os.replace

    def spy(src, dst):
        moves.append((os.path.dirname(src), os.path.basename(src), open(src, "rb").read(), dst))
        replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    storage.write_text(str(tmp_path / "a" / "b.txt"), "héllo")
    [(folder, name, data, target)] = moves
    assert folder == str(tmp_path / "a") and name.startswith(".tmp-") and target == str(tmp_path / "a" / "b.txt")
    assert data == "héllo".encode() and storage.read_text(target) == "héllo"
    assert os.listdir(tmp_path / "a") == ["b.txt"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError):
        storage.write_bytes(str(tmp_path / "taken"), b"x")
    assert os.listdir(tmp_path) == ["taken"]


def test_reading_a_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(SourceError) as caught:
        storage.read_bytes(str(tmp_path / "none.csv"))
    assert str(caught.value) == f"{str(tmp_path / 'none.csv')!r} does not exist; pass the path of an existing file."
    assert not storage.exists(str(tmp_path / "none.csv")) and storage.exists(str(tmp_path))


def test_expand_a_folder_a_wildcard_and_a_plain_path(tmp_path):
    for name in ("b.csv", "a.csv", ".hidden.csv", "c.txt"):
        (tmp_path / name).write_text(name)
    assert storage.expand(str(tmp_path)) == [str(tmp_path / n) for n in ("a.csv", "b.csv", "c.txt")]
    assert storage.expand(str(tmp_path / "*.csv")) == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert storage.expand(str(tmp_path / "[ab].csv")) == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert storage.expand(str(tmp_path / "?.txt")) == [str(tmp_path / "c.txt")]
    # A plain path stands for itself, present or not (the reader then names it).
    assert storage.expand(str(tmp_path / "XY.csv")) == [str(tmp_path / "XY.csv")]
    assert storage.expand(str(tmp_path / "nothing-*.csv")) == []


def test_bucket_names():
    assert storage.split_gcs("gs://my-bucket.example/a/b.csv") == ("my-bucket.example", "a/b.csv")
    assert storage.split_gcs("gs://abc") == ("abc", "")
    for bad in ("gs://ab/x", "gs://Upper/x", "gs://-dash/x", "gs:///x"):
        with pytest.raises(SourceError) as caught:
            storage.split_gcs(bad)
        assert (
            str(caught.value)
            == f"{bad!r} does not name a valid bucket; write gs://BUCKET/PATH with a lower-case bucket name."
        )
    assert storage.is_gcs("gs://b/x") and not storage.is_gcs("/gs://b") and not storage.is_gcs("gcs://b")


def test_a_file_written_through_a_block_appears_only_when_the_block_ends_well(tmp_path):
    target = tmp_path / "out" / "split.csv"
    with pytest.raises(RuntimeError):
        with storage.open_write(str(target)) as f:
            f.write(b"a,b\n1,")
            raise RuntimeError("the writer failed half-way")
    assert os.listdir(tmp_path / "out") == []  # neither the file nor its temporary file
    with storage.open_write(str(target)) as f:
        f.write(b"a,b\n")
        f.write(b"1,2\n")
        assert os.listdir(tmp_path / "out")[0].startswith(".tmp-")
    assert target.read_bytes() == b"a,b\n1,2\n" and os.listdir(tmp_path / "out") == ["split.csv"]


def test_open_read_streams_a_local_file_and_names_a_missing_one(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"a\n1\n")
    with storage.open_read(str(tmp_path / "t.csv")) as f:
        assert f.readline() == b"a\n" and f.read() == b"1\n"
    with pytest.raises(SourceError) as caught:
        with storage.open_read(str(tmp_path / "none.csv")):
            pass
    assert str(caught.value) == f"{str(tmp_path / 'none.csv')!r} does not exist; pass the path of an existing file."
