"""TFDV's Facets view holds the statistics of every feature: in a real kernel, and in the statistics artifact.

The view is drawn by JavaScript from a base64 ``DatasetFeatureStatisticsList``
embedded in the HTML; decoding that proto is how we know what a reader will see.
"""

from __future__ import annotations

import base64
import re

import nbformat
import pytest

from kfx import statistics
from kfx.course import notebooks

PROTO = re.compile(r'proto-input="([A-Za-z0-9+/=]+)"')


def _embedded(html: str):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    found = PROTO.findall(html)
    assert len(found) == 1, f"expected one facets-overview proto in the HTML, found {len(found)}"
    proto = statistics_pb2.DatasetFeatureStatisticsList()
    proto.ParseFromString(base64.b64decode(found[0]))
    return proto


def _assert_every_feature(proto, frames):
    assert [d.name for d in proto.datasets] == ["train", "eval"]
    for dataset, frame in zip(proto.datasets, (frames["train"], frames["validation"])):
        assert dataset.num_examples == len(frame)
        names = {".".join(f.path.step) or f.name for f in dataset.features}
        assert names == set(frame.columns)
        area = next(f for f in dataset.features if f.path.step == ["Area"])
        assert area.num_stats.mean == pytest.approx(frame["Area"].mean())
        assert area.num_stats.max == frame["Area"].max()


def test_statistics_artifact_view_holds_every_feature(sample_stats, sample_frames):
    html = statistics.statistics_html(sample_stats["train"], sample_stats["validation"], "train", "eval")
    assert html.startswith("<!DOCTYPE html>") and "<facets-overview" in html
    _assert_every_feature(_embedded(html), sample_frames)


@pytest.mark.notebooks
def test_visualize_statistics_renders_every_feature_in_a_real_kernel(sample_stats, sample_frames, make_notebook, tmp_path):
    folder = str(tmp_path / "stats")
    statistics.write_statistics(sample_stats, folder)
    path = make_notebook(
        "01_view.ipynb", 'stats_folder = ""',
        "from kfx import statistics\ntfdv = statistics.import_tfdv()\nstats = statistics.load_statistics(stats_folder)",
        'tfdv.visualize_statistics(lhs_statistics=stats["train"], rhs_statistics=stats["validation"], lhs_name="train", rhs_name="eval")',
    )
    run = notebooks.run_notebook(path, str(tmp_path / "out"), {"stats_folder": folder})
    cell = nbformat.read(run.output, as_version=4).cells[-1]
    html = [o.data["text/html"] for o in cell.outputs if o.output_type == "display_data" and "text/html" in o.data]
    assert len(html) == 1 and "facets-overview" in html[0]
    _assert_every_feature(_embedded(html[0]), sample_frames)
