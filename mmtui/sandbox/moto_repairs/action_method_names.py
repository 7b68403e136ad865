"""moto lists a response class's methods once per class, not on every call.

Not a difference from AWS but a cost: to find the method that answers an action, moto's
`BaseResponse.call_action` lists every function of the response class with
`inspect.getmembers` (a few hundred attributes, sorted) on every call, then looks the action's
name up in that list: about a twentieth of the time the sandbox spent answering a room's calls,
under the sandbox lock. A class's functions are fixed once moto and its repairs are imported
(every repair is installed before the sandbox serves), so the names are listed once per class.
"""

from __future__ import annotations

import functools
from typing import Any

from mmtui.sandbox.moto_repairs.patching import patch

REPAIR = "action_method_names"


def install() -> None:
    """Remember each response class's function names (called once, by moto_repairs.install)."""
    from moto.core import responses, utils

    original = utils.method_names_from_class
    listed: dict[Any, list[str]] = {}

    @functools.wraps(original)
    def method_names_from_class(clazz: object) -> list[str]:
        names = listed.get(clazz)
        if names is None:
            # moto's only caller tests membership and keeps nothing: one list per class.
            names = listed[clazz] = original(clazz)
        return names

    patch(REPAIR, responses, "method_names_from_class", method_names_from_class)
