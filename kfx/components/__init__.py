"""The kfx component library: one KFP v2 component per module, each a thin wrapper over kfx.steps.

Importing this package loads only kfp; each component imports what it needs
(TFDV, scikit-learn, cloud clients) inside its body, in its own task.
"""

from kfx.components.evaluate import evaluate
from kfx.components.generate_statistics import generate_statistics
from kfx.components.import_dataset import import_dataset
from kfx.components.infer_schema import infer_schema
from kfx.components.push_model import push_model
from kfx.components.train import train
from kfx.components.validate_statistics import validate_statistics

__all__ = [
    "evaluate",
    "generate_statistics",
    "import_dataset",
    "infer_schema",
    "push_model",
    "train",
    "validate_statistics",
]
