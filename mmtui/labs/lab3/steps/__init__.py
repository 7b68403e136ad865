"""Lab 3, one module per step. Each holds everything its step does: the checks (what
the content's `automated.checks` name), the solve and reset tasks, and the step's console form if
it has one. What several steps share sits beside this package (`aws.py`, `stacks.py`,
`codepipeline.py`, `xray.py`, `dashboards.py`, `facts.py`); the names are declared in
`catalog.py` and the IAM actions in `permissions.py`.

Importing this package registers every step's checks and tasks.
"""

from __future__ import annotations

import mmtui.labs.lab3.steps.build_artifacts  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.checkpoint  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.dashboard  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.data_tier  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.infrastructure  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.pipeline  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab3.steps.prerequisites  # noqa: F401  (registers its checks and tasks)
from mmtui.engine.context import CheckContext
from mmtui.labs.common.forms import Form
from mmtui.labs.lab3.steps.data_tier import ReplicaForm
from mmtui.labs.lab3.steps.pipeline import CrossRegionStageForm

FORMS: dict[str, type[ReplicaForm] | type[CrossRegionStageForm]] = {
    ReplicaForm.step: ReplicaForm,
    CrossRegionStageForm.step: CrossRegionStageForm,
}
"""Step id → the form that does it by hand (steps 2 and 3)."""


def open_form(step: str, ctx: CheckContext) -> Form:
    """The form of a step, read from the live account (read-only calls; off the UI thread).
    KeyError for a step that has no form."""
    return FORMS[step].load(ctx)
