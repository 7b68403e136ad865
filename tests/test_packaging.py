"""The wheel carries everything mmtui needs at run time, and the core never loads Textual."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def _source_data_files() -> dict[str, Path]:
    """Every non-Python file the wheel must carry, keyed by its path inside the wheel."""
    wanted: dict[str, Path] = {}
    for top, inside in (
        ("labs", "mmtui/_bundled/labs"),
        ("buildspec_templates", "mmtui/_bundled/buildspec_templates"),
    ):
        for path in (REPO / top).rglob("*"):
            if path.is_file():
                wanted[f"{inside}/{path.relative_to(REPO / top).as_posix()}"] = path
    for path in (REPO / "mmtui").rglob("*"):
        if (
            path.is_file()
            and path.suffix not in (".py", ".pyc")
            and "__pycache__" not in path.parts
            and "_bundled" not in path.parts
        ):
            wanted[path.relative_to(REPO).as_posix()] = path
    return wanted


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("mmtui-*.whl")
    return built


def test_wheel_contains_content_templates_and_stylesheets(wheel: Path) -> None:
    wanted = _source_data_files()
    assert "mmtui/_bundled/labs/workshop.yaml" in wanted
    assert "mmtui/_bundled/labs/lab-3-multi-region-prep/lab.yaml" in wanted
    assert any(name.endswith(".md") and "/steps/" in name for name in wanted)
    assert any(name.startswith("mmtui/_bundled/buildspec_templates/") for name in wanted)
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(set(wanted) - names)
    assert missing == [], f"the wheel lacks {missing}"
    tcss_in_source = {n for n in wanted if n.endswith(".tcss")}
    assert tcss_in_source <= names
    with zipfile.ZipFile(wheel) as archive:
        assert (
            "mmtui.cli:main"
            in archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        )


def test_installed_wheel_runs_from_its_own_content(wheel: Path, tmp_path: Path) -> None:
    """Unpacked away from the repository, mmtui lints the content the wheel carries."""
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = (
        "import mmtui.content.loader as l, sys; print(l.content_root()); "
        "sys.argv = ['mmtui', 'lint']; from mmtui.cli import main; main()"
    )
    result = _fresh_python(code, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target / "mmtui" / "_bundled" / "labs")


def _fresh_python(
    code: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter (so its imports start from nothing); its output."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


CORE_MODULES = [
    "mmtui.cli",
    "mmtui.content.lint",
    "mmtui.content.loader",
    "mmtui.engine.registry",
    "mmtui.engine.steps",
    "mmtui.fleet.run",
    "mmtui.guide",
    "mmtui.progress",
    "mmtui.labs",
    "mmtui.labs.lab3.plugin",
    "mmtui.labs.lab3.catalog",
    "mmtui.labs.common.forms",
    "mmtui.labs.lab3.inventory",
    "mmtui.target.clients",
    "mmtui.target.identity",
    "mmtui.target.spec",
]


def test_core_never_imports_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}: importlib.import_module(name)\n"
        "from mmtui.cli import installed_registrations\n"
        "from mmtui.content.lint import lint_default\nlint_default(installed_registrations())\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'mmtui.tui') "
        "or m.startswith('mmtui.tui'))\n"
        "print(','.join(bad))"
    )
    result = _fresh_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_loads_neither_boto3_nor_textual() -> None:
    code = (
        "import sys\nfrom mmtui.cli import main\nsys.argv=['mmtui','--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('boto3','botocore','textual','moto','pydantic') "
        "if m in sys.modules))"
    )
    result = _fresh_python(code)
    assert result.stdout.strip().splitlines()[-1] == "LOADED []"
