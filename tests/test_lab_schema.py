"""lab.yaml's shape, published: the JSON schemas equal the content model, the shipped content
(and the test lab) validate against them, and a file of another format is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mmtui.content.model import FORMAT
from mmtui.content.schema import SCHEMAS, rendered
from mmtui.content.yamlload import load_yaml
from tests.conftest import REPO, invoke
from tests.labs.marker_lab import CONTENT as MARKER_CONTENT

LABS = REPO / "labs"
LAB3_YAML = LABS / "lab-3-multi-region-prep" / "lab.yaml"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_published_schema_is_the_model(name: str) -> None:
    published = (LABS / name).read_text(encoding="utf-8")
    assert published == rendered(SCHEMAS[name]), (
        f"labs/{name} differs from the content model: run `python -m mmtui.content.schema`"
    )


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((LABS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", [LAB3_YAML, MARKER_CONTENT / "lab.yaml"], ids=["lab3", "marker"])
def test_every_lab_validates_against_the_schema(path: Path) -> None:
    errors = list(_validator("lab.schema.json").iter_errors(load_yaml(path).data))
    assert errors == []


def test_the_workshop_validates_against_its_schema() -> None:
    data = load_yaml(LABS / "workshop.yaml").data
    assert list(_validator("workshop.schema.json").iter_errors(data)) == []


def test_the_schema_refuses_what_the_model_refuses() -> None:
    data = load_yaml(LAB3_YAML).data
    check = data["steps"][0]["checks"][0]
    broken = {**check, "region": "west", "colour": "red"}
    data["steps"][0]["checks"][0] = broken
    messages = sorted(e.message for e in _validator("lab.schema.json").iter_errors(data))
    assert any("'west' is not one of" in m for m in messages), messages
    assert any("'colour' was unexpected" in m for m in messages), messages


def test_lab_yaml_names_its_schema_and_format() -> None:
    first, second = LAB3_YAML.read_text(encoding="utf-8").splitlines()[:2]
    assert first == "# yaml-language-server: $schema=../lab.schema.json"
    assert second == f"format: {FORMAT}"


def _lint_lab_with(tmp_path: Path, old: str, new: str) -> tuple[int, list[str], Path]:
    folder = tmp_path / "lab"
    folder.mkdir()
    for source in (MARKER_CONTENT).rglob("*"):
        target = folder / source.relative_to(MARKER_CONTENT)
        if source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    lab_yaml = folder / "lab.yaml"
    text = lab_yaml.read_text(encoding="utf-8")
    assert old in text
    lab_yaml.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = invoke("lint", str(folder))
    return result.code, result.stdout.splitlines(), lab_yaml


SHAPE = "lab.yaml format 2 (its shape is in labs/lab.schema.json)"


@pytest.mark.parametrize(
    ("new", "line", "said"),
    [
        ("format: 1\n", 4, f"format 1 is not one this mmtui reads: it reads {SHAPE}"),
        (
            "",
            1,
            f"missing required key 'format': add `format: 2` at the top; this mmtui reads {SHAPE}",
        ),
    ],
    ids=["another", "none"],
)
def test_a_lab_of_another_format_is_refused_with_one_message(
    tmp_path: Path, new: str, line: int, said: str
) -> None:
    code, lines, lab_yaml = _lint_lab_with(tmp_path, "format: 2\n", new)
    assert (code, lines) == (2, [f"{lab_yaml}:{line}: {said}"])
