"""The kfx component library: one module per component, each holding the component and its
:class:`~kfx.step.Step` declaration; the work is a plain function of :mod:`kfx.steps`.

``from kfx.components import train`` gives the component. Importing this package
loads only kfp (and GCPC's artifact types); each component imports what it needs
(TFDV, scikit-learn, cloud clients) inside its body, in its own task. A module
added here is a component of the package without any other change.
"""

import importlib as _importlib
import pkgutil as _pkgutil

__all__ = sorted(m.name for m in _pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

for _name in __all__:
    globals()[_name] = getattr(_importlib.import_module(f"{__name__}.{_name}"), _name)
