"""The kfx trainer: fits a scikit-learn classifier under the Vertex AI custom-training contract.

Run it as ``python -m kfx_trainer.task``; it reads ``AIP_MODEL_DIR``, ``AIP_DATA_FORMAT``
and ``AIP_TRAINING_DATA_URI`` / ``AIP_VALIDATION_DATA_URI`` / ``AIP_TEST_DATA_URI``,
exactly as a Vertex AI custom training job with a managed dataset provides them.
"""
