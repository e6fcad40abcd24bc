"""The vertex target: the one beans pipeline compiled for and submitted to Vertex AI Pipelines.

Only the platform edges live here (pipeline wiring, submission, image builds,
set-up checks); the steps are the same kfx components the local target runs.
Nothing in this package imports a Google Cloud client at import time.
"""
