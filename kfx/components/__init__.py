"""The kfx component library: one module per component, each holding the component and its
:class:`~kfx.report.Report`; the work is a plain function of :mod:`kfx.data_steps` or :mod:`kfx.model_steps`.

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


def reports() -> dict:
    """Each component's :class:`~kfx.report.Report` (its module's ``REPORT``), by component name.

    Raises:
        ValueError: If a module has no report for its component, or two components share a name.
    """
    found: dict = {}
    for name in __all__:
        module = _importlib.import_module(f"{__name__}.{name}")
        report = getattr(module, "REPORT", None)
        if report is None or report.component is not globals()[name]:
            raise ValueError(f"kfx.components.{name} declares no REPORT of its component {name}.")
        if report.name in found:
            raise ValueError(f"Components {name} and {found[report.name].component} share the name {report.name!r}.")
        found[report.name] = report
    return found
