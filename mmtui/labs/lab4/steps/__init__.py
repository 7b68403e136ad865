"""Lab 4, one module per step: each holds its step's checks and its solve and reset tasks.
Importing this package registers them all."""

from __future__ import annotations

import mmtui.labs.lab4.steps.accelerator  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab4.steps.endpoint_groups  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab4.steps.endpoints  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab4.steps.listener  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab4.steps.prerequisites  # noqa: F401  (registers its checks and tasks)
import mmtui.labs.lab4.steps.test  # noqa: F401  (registers its checks and tasks)
