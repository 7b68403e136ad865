"""Where a check looks, in a module of its own: the engine needs the word at import time, and
importing the content model for it would load pydantic into `mmtui --help`."""

from typing import Literal

RegionScope = Literal["primary", "secondary", "both", "local"]
"""Where a check looks: one region, both, or only local files (a git repository)."""
