"""The JSON schemas of lab.yaml and workshop.yaml, made from the content model.

They are published beside the content (`labs/lab.schema.json`, `labs/workshop.schema.json`) so
that a lab author's editor completes and checks the files as they are typed (lab.yaml names
its schema in its first line, as YAML language servers read it). The model stays the one
source: `python -m mmtui.content.schema` writes the files again, and a test fails while the
published files differ from what the model says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mmtui.content.model import FORMAT, Lab, Workshop

SCHEMAS: dict[str, type[BaseModel]] = {
    "lab.schema.json": Lab,
    "workshop.schema.json": Workshop,
}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    document = model.model_json_schema()
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
