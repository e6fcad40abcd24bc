"""TFDV's schema inference and statistics validation, without importing TensorFlow.

``import tensorflow_data_validation`` imports TensorFlow and Apache Beam, about
15 s on a 2-core machine, for every pipeline step that does it. Schema inference
and validation are done by TFDV's compiled core, which needs neither: TFDV's own
``infer_schema`` and ``validate_statistics`` are thin wrappers that serialize the
protos and call it. This module loads that same compiled core directly and wraps
it the way TFDV 1.16 does, so the schema and validation steps start in well under
a second. ``tests/test_statistics_validation.py`` checks the results equal TFDV's
own, proto for proto. Where the core cannot be loaded (another TFDV layout), the functions
fall back to the public TFDV API. Steps that need the whole of TFDV import it with
:func:`import_tfdv`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

_EXTENSION = "tensorflow_data_validation_extension"


@functools.lru_cache(maxsize=1)
def _core():
    """TFDV's compiled ``validation`` module, or None where it cannot be loaded alone."""
    loaded = sys.modules.get(f"tensorflow_data_validation.pywrap.{_EXTENSION}")
    if loaded is not None:
        # TFDV is imported in this process already: load its core only once.
        return loaded.validation
    spec = importlib.util.find_spec("tensorflow_data_validation")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for name in os.listdir(os.path.join(folder, "pywrap")) if os.path.isdir(os.path.join(folder, "pywrap")) else []:
            if name.startswith(_EXTENSION) and name.endswith(".so"):
                path = os.path.join(folder, "pywrap", name)
                ext_spec = importlib.util.spec_from_file_location(_EXTENSION, path)
                if ext_spec is None or ext_spec.loader is None:
                    return None
                module = importlib.util.module_from_spec(ext_spec)
                try:
                    ext_spec.loader.exec_module(module)
                except ImportError:
                    return None
                # Should TFDV be imported later in this process, it finds its core
                # loaded already instead of initialising the extension twice.
                sys.modules[f"tensorflow_data_validation.pywrap.{_EXTENSION}"] = module
                return getattr(module, "validation", None)
    return None


def import_tfdv():
    """Imports TFDV, skipping the eager import of all of Keras that TensorFlow 2.16 does.

    TensorFlow imports Keras at start-up (about 5 s on a 2-core machine) although
    TFDV never uses it; with ``TF_USE_LEGACY_KERAS`` set and no ``tf_keras``
    installed, TensorFlow skips that import. The variable is set only for the
    import and only when TensorFlow is not loaded yet.
    """
    if "tensorflow" not in sys.modules and "TF_USE_LEGACY_KERAS" not in os.environ:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        try:
            import tensorflow_data_validation as tfdv
        finally:
            del os.environ["TF_USE_LEGACY_KERAS"]
    import tensorflow_data_validation as tfdv

    return tfdv


def _default_dataset(statistics: statistics_pb2.DatasetFeatureStatisticsList):
    if len(statistics.datasets) != 1:
        raise ValueError("kfx validates statistics lists with exactly one dataset (one split).")
    return statistics.datasets[0]


def infer_schema(
    statistics: statistics_pb2.DatasetFeatureStatisticsList,
    infer_feature_shape: bool = True,
    max_string_domain_size: int = 100,
) -> schema_pb2.Schema:
    """Infers a schema from statistics, as ``tfdv.infer_schema`` does.

    Args:
        statistics: Statistics of one dataset.
        infer_feature_shape: Infer the shape of features. Defaults to True.
        max_string_domain_size: Largest number of distinct strings for a feature
            to get a categorical domain. Defaults to 100.

    Returns:
        The inferred schema.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

    core = _core()
    if core is None:
        import tensorflow_data_validation as tfdv

        return tfdv.infer_schema(statistics, infer_feature_shape, max_string_domain_size)
    dataset = statistics_pb2.DatasetFeatureStatistics()
    dataset.CopyFrom(_default_dataset(statistics))
    # As TFDV does: composite features (sparse, weighted) carry no common stats.
    kept = [
        f
        for f in dataset.features
        if f.WhichOneof("stats") in ("num_stats", "string_stats", "bytes_stats", "struct_stats")
    ]
    del dataset.features[:]
    dataset.features.extend(kept)
    schema = schema_pb2.Schema()
    schema.ParseFromString(core.InferSchema(dataset.SerializeToString(), max_string_domain_size, infer_feature_shape))
    if getattr(schema, "generate_legacy_feature_spec", None) is not None:
        schema.generate_legacy_feature_spec = False
    return schema


def validate_statistics(
    statistics: statistics_pb2.DatasetFeatureStatisticsList,
    schema: schema_pb2.Schema,
    previous_statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    serving_statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None,
    environment: str = "",
) -> anomalies_pb2.Anomalies:
    """Validates statistics against a schema, as ``tfdv.validate_statistics`` does.

    Args:
        statistics: Statistics of the data to check (one dataset).
        schema: The schema, with drift / skew comparators where wanted.
        previous_statistics: Statistics to compare against for drift.
        serving_statistics: Statistics to compare against for skew.
        environment: Schema environment to validate in; empty for the default.

    Returns:
        The anomalies (empty ``anomaly_info`` when there are none).
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    core = _core()
    if core is None:
        import tensorflow_data_validation as tfdv

        return tfdv.validate_statistics(
            statistics,
            schema,
            environment=environment or None,
            previous_statistics=previous_statistics,
            serving_statistics=serving_statistics,
        )
    if environment and environment not in schema.default_environment:
        raise ValueError(f"Environment {environment} not found in the schema.")

    def serialized(stats):
        return _default_dataset(stats).SerializeToString() if stats is not None else b""

    result = core.ValidateFeatureStatistics(
        serialized(statistics),
        schema.SerializeToString(),
        environment.encode(),
        serialized(previous_statistics),
        serialized(serving_statistics),
        b"",  # previous version statistics
        b"",  # FeaturesNeededProto(): none
        b"",  # ValidationConfig(): defaults
        False,  # enable_diff_regions
    )
    anomalies = anomalies_pb2.Anomalies()
    anomalies.ParseFromString(result)
    return anomalies
