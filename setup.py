"""kfx: reusable Kubeflow Pipelines v2 components for Vertex AI, with the trainer they run.

`requirements.txt` pins the full set that is known to work together; the ranges
here keep any install inside that combination (TFDV 1.16 holds TensorFlow 2.16,
protobuf < 5, pandas < 2 and pyarrow 10; kfp 2.14+ needs protobuf 6).
"""

from setuptools import find_packages, setup

RUNTIME = [
    "tensorflow-data-validation==1.16.1",
    "ml-metadata==1.16.0",
    "kfp>=2.13,<2.14",
    "google-cloud-pipeline-components>=2.22,<2.23",
    "google-cloud-aiplatform>=1.100,<2",
    "google-cloud-bigquery>=3,<4",
    "google-cloud-bigquery-storage>=2,<3",
    "google-cloud-storage>=2,<3",
    "db-dtypes>=1,<2",
    "apache-beam[gcp]>=2.60,<3",
    "dill",
    "protobuf>=4.25,<5",
    "pandas>=1.5,<2",
    "pyarrow>=10,<11",
    "scikit-learn>=1.5,<1.6",  # the serving image follows this series (see requirements.in)
    "joblib",
    "matplotlib>=3.7,<4",
    "networkx>=3,<4",
    "croniter>=6,<8",  # kfx schedule: the cron expression, checked before anything is sent
]

setup(
    name="kfx",
    version="0.1.0",
    description="Reusable Kubeflow Pipelines v2 components for Vertex AI, and a course around them.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["kfx", "kfx.*", "kfx_trainer", "kfx_trainer.*"]),
    package_data={"kfx": ["data/*.gz", "data/*.md"]},
    install_requires=RUNTIME,
    extras_require={
        "dev": ["pytest", "nbval", "papermill", "jupyterlab", "gcp-storage-emulator"],
    },
    entry_points={"console_scripts": ["kfx=kfx.cli:main", "kfx-trainer=kfx_trainer.task:cli"]},
)
