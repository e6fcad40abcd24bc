"""The ``kfx`` commands, one module each (see :mod:`kfx.cli`)."""
