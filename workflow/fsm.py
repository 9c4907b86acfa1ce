"""viewflow.fsm, without its Commercial-only modules.

viewflow/fsm/__init__.py imports fsm/admin.py, fsm/chart.py and fsm/viewset.py, which carry
a Commercial-only licence header; everything we use lives in fsm/base.py and
fsm/fields.py (AGPL with the Viewflow Library Exception). Importing the package the usual
way would load the commercial modules, so this shim registers `viewflow.fsm` as a bare
package and imports only the two licensed modules. Import State and friends from here.
"""

from __future__ import annotations

import importlib.util
import sys
import types

import viewflow


def _load_licensed_fsm() -> types.ModuleType:
    existing = sys.modules.get("viewflow.fsm")
    if existing is not None and hasattr(existing, "State"):
        return existing
    spec = importlib.util.find_spec("viewflow.fsm")
    assert spec is not None and spec.submodule_search_locations is not None
    package = types.ModuleType("viewflow.fsm")
    package.__path__ = list(spec.submodule_search_locations)
    package.__package__ = "viewflow.fsm"
    sys.modules["viewflow.fsm"] = package
    viewflow.fsm = package  # type: ignore[attr-defined]
    from viewflow.fsm import base, fields

    for name in ("State", "Transition", "TransitionNotAllowed", "NoTransition", "TransitionConditionsUnmet"):
        setattr(package, name, getattr(base, name))
    for name in ("FSMField", "transition"):
        setattr(package, name, getattr(fields, name))
    return package


_fsm = _load_licensed_fsm()

State = _fsm.State
Transition = _fsm.Transition
TransitionNotAllowed = _fsm.TransitionNotAllowed
NoTransition = _fsm.NoTransition
TransitionConditionsUnmet = _fsm.TransitionConditionsUnmet

COMMERCIAL_MODULES = ("viewflow.fsm.admin", "viewflow.fsm.chart", "viewflow.fsm.viewset", "viewflow.fsm.views")
