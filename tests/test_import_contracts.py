"""The direction of imports (pyproject.toml, [tool.importlinter]) holds: the core never imports
Textual, and of the command line only `mmtui run` reaches the TUI; the engine imports no lab,
sandbox or TUI, the sandbox no engine, lab or TUI, and only the command line picks a lab; the
sandbox's repairs to moto know none of its own behaviours or workshop fixtures, and neither its
core nor its behaviours import the workshop fixtures (they are handed in as a Seeder). CI runs
`lint-imports` too; this keeps a local run honest."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    # Every contract declared ran (a contract lint-imports skipped would not be kept).
    assert f"{len(contracts['contracts'])} kept, 0 broken" in result.stdout
