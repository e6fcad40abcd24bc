"""Importing the vertex modules loads no cloud client or heavy library (they load inside functions)."""

from __future__ import annotations

import subprocess
import sys


def test_vertex_modules_import_nothing_heavy():
    script = (
        "import sys\n"
        "import kfx.cli, kfx.components, kfx.commands.submit, kfx.commands.build, kfx.commands.doctor\n"
        "import kfx.pipelines.vertex_train, kfx.pipelines.vertex_predict, "
        "kfx.vertex.submit, kfx.vertex.build, kfx.vertex.doctor\n"
        "import kfx.vertex.statistics, kfx.vertex.training, kfx.vertex.registry, kfx.vertex.checks\n"
        "heavy = ('google.cloud.aiplatform', 'google.cloud.bigquery', 'google.cloud.storage',\n"
        "         'google.cloud.devtools', 'tensorflow', 'tensorflow_data_validation', 'apache_beam', 'sklearn')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
