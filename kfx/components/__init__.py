"""The kfx component library: one KFP v2 component per module, each a thin wrapper over kfx.steps.

Importing this package loads only kfp; each component imports what it needs
(TFDV, scikit-learn, cloud clients) inside its body, in its own task.
"""

from kfx.components.bless_vertex_model import bless_vertex_model
from kfx.components.custom_training_job import custom_training_job
from kfx.components.evaluate import evaluate
from kfx.components.generate_statistics import generate_statistics
from kfx.components.generate_statistics_bq import generate_statistics_bq
from kfx.components.import_dataset import import_dataset
from kfx.components.infer_schema import infer_schema
from kfx.components.push_model import push_model
from kfx.components.train import train
from kfx.components.validate_statistics import validate_statistics

__all__ = [
    "bless_vertex_model",
    "custom_training_job",
    "evaluate",
    "generate_statistics",
    "generate_statistics_bq",
    "import_dataset",
    "infer_schema",
    "push_model",
    "train",
    "validate_statistics",
]
