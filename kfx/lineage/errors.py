"""The lineage errors a user can cause: a missing, foreign, damaged or out-of-date store, an unknown name."""

from kfx.errors import KfxError


class LineageError(KfxError):
    """The lineage store cannot be used as asked; the message names the store or the name and the fix."""


class StoreBusy(LineageError):
    """Another process kept the store locked for longer than kfx waits."""
