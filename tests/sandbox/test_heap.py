"""The sandbox keeps Python's cycle collector off the state it has built (core/heap.py).

A full collection walks every object the collector tracks. With a room of fifty accounts in
the sandbox, one took 650 ms, all of it holding the interpreter (and the sandbox lock of the
call that set it off): every third run of a room's checks had its 99th percentile answer at
nine times its median. Objects kept in the collector's permanent generation are not walked;
a state that a restore replaces goes back to the collector, so that its garbage is freed.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from mmtui.sandbox.core.server import Sandbox


def tracked(thing: object) -> bool:
    """Whether the collector's full collections walk `thing` (frozen objects are not listed)."""
    return any(candidate is thing for candidate in gc.get_objects())


def test_accounts_added_stay_out_of_full_collections_until_a_restore(sandbox: Sandbox) -> None:
    from moto.iam.models import iam_backends

    assert gc.get_freeze_count() == 0  # a restore (the fixture's) gave everything back
    (record,) = sandbox.add_accounts(["210987654321"], seed=False)
    role = iam_backends[record.account_id]["global"].get_role(record.role_name)
    assert gc.get_freeze_count() > 0
    assert not tracked(role)
    sandbox.restore_snapshot(sandbox.baseline)  # type: ignore[attr-defined]
    assert gc.get_freeze_count() == 0
    assert tracked(role)  # still referenced here: the collector sees it again


def test_the_state_a_sandbox_starts_with_stays_out_of_full_collections(tmp_path: Path) -> None:
    # Its own process: one sandbox per process, and the session's has been restored since.
    program = textwrap.dedent(
        f"""
        import gc
        from pathlib import Path
        from mmtui.sandbox.core.server import Sandbox, SandboxOptions
        from moto.iam.models import iam_backends

        options = SandboxOptions(state_dir=Path({str(tmp_path)!r}), fresh=True, seed=False)
        with Sandbox(options) as sandbox:
            sandbox.client("iam").create_user(UserName="kept")
            sandbox.stop()
        with Sandbox(SandboxOptions(state_dir=Path({str(tmp_path)!r}))) as sandbox:
            user = iam_backends["123456789012"]["global"].get_user("kept")
            print(gc.get_freeze_count() > 0, any(o is user for o in gc.get_objects()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]
