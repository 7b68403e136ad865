"""Lab 5, one module per kind of step; importing this package registers every check and task."""

from __future__ import annotations

import mmtui.labs.lab5.steps.dials  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab5.steps.failover  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab5.steps.load_test  # noqa: F401  (registers its checks and tasks)
