"""The JSON schemas of lab.yaml and workshop.yaml, made from the content model.

They are published beside the content (`labs/lab.schema.json`, `labs/workshop.schema.json`) so
that a lab author's editor completes and checks the files as they are typed (lab.yaml names
its schema in its first line, as YAML language servers read it). The model stays the one
source: `python -m mmtui.content.schema` writes the files again, and a test fails while the
published files differ from what the model says.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from mmtui.content.model import FORMAT, Lab, Workshop

SCHEMAS: dict[str, type[BaseModel]] = {
    "lab.schema.json": Lab,
    "workshop.schema.json": Workshop,
}


def field_docs(module: ModuleType) -> dict[str, dict[str, str]]:
    """Class name → field name → the docstring written under the field, for every class of
    `module` (the string statement that follows an annotated assignment)."""
    tree = ast.parse(inspect.getsource(module))
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = docs.setdefault(node.name, {})
        for before, after in itertools.pairwise(node.body):
            if (
                isinstance(before, ast.AnnAssign)
                and isinstance(before.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                fields[before.target.id] = inspect.cleandoc(after.value.value)
    return docs


def _describe_fields(document: dict[str, Any], docs: dict[str, dict[str, str]]) -> None:
    classes = {document.get("title", ""): document, **document.get("$defs", {})}
    for name, shape in classes.items():
        for field_name, text in docs.get(name, {}).items():
            prop = shape.get("properties", {}).get(field_name)
            if prop is not None:
                prop["description"] = text


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    from mmtui.content import model as content_model

    document = model.model_json_schema()
    _describe_fields(document, field_docs(content_model))
    titled = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Made from mmtui's content model (lab.yaml format {FORMAT}); "
        "regenerate with `python -m mmtui.content.schema`.",
    }
    return {**titled, **document}


def rendered(model: type[BaseModel]) -> str:
    return json.dumps(schema_of(model), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(folder: Path) -> list[Path]:
    written = []
    for name, model in SCHEMAS.items():
        path = folder / name
        path.write_text(rendered(model), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    from mmtui.content.loader import content_root

    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else content_root()):
        print(path)
