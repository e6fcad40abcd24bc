"""kfx: reusable Kubeflow Pipelines v2 components for Vertex AI, and a course around them.

Importing ``kfx`` loads nothing heavy: TensorFlow Data Validation, scikit-learn,
pandas and the Google Cloud clients are imported inside the functions that use
them, so ``import kfx`` and ``kfx --help`` stay fast.
"""

__version__ = "0.1.0"

__all__ = ["Config", "KfxError", "__version__"]


def __getattr__(name):
    # Lazy re-exports keep `import kfx` cheap.
    if name == "Config":
        from kfx.config import Config

        return Config
    if name == "KfxError":
        from kfx.errors import KfxError

        return KfxError
    raise AttributeError(f"module 'kfx' has no attribute {name!r}")
