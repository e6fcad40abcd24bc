"""``python -m kfx`` is the ``kfx`` command."""

import sys

from kfx.cli import main

sys.exit(main())
