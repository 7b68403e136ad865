"""The targets file of an instructor: who the attendees are and how to reach their accounts.

YAML (a list of attendees, or `attendees:` with optional `defaults:`) or CSV (a header row of
the same keys, one attendee per row), told apart by the extension and otherwise by the content.
Validation is strict and complete: every problem is reported as `file:line: message`, and
nothing runs until the file is clean.

Keys of an attendee:

- `name` (required, unique): how the instructor knows them; it names their row and workspace.
- One way in: `profile` (a named AWS profile), or `role_arn` (or `role_name` with
  `account_id`) to assume with STS, with optional `external_id` and `source_profile` (the
  profile that assumes it; default: the standard chain), or `endpoint_url` (an
  AWS-compatible endpoint, such as `mmtui sandbox`) with optional `access_key_id` and
  `secret_access_key`. A role may also be assumed on an endpoint.
- `account_id`: the 12-digit account the file says this is; when given, mmtui works on the
  target only if STS says the credentials lead there. `fleet reset` requires it.
- `primary_region`, `secondary_region` (default us-west-2 and us-east-1), `workspace` (the
  folder for the attendee's clones; relative to the file; default: one per attendee in the
  user state folder).
- the keys of `mmtui.target.names.SETTINGS` (`primary_stack` and the others): the names of
  the attendee's resources when they are not the workshop's (Lab 0 lets a shared account use
  its own stack name), checked against AWS's naming rules.

Under `defaults:` (YAML) any key but `name`, `account_id` and `workspace` applies to every
attendee that does not set it.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtui import iam_actions
from mmtui.exitcodes import ExitCode, MmtuiError
from mmtui.target.names import BY_PARAMETER, SETTINGS, validate_name
from mmtui.target.spec import (
    DEFAULT_PRIMARY_REGION,
    DEFAULT_SECONDARY_REGION,
    AssumeRole,
    TargetKind,
    TargetSpec,
    check_endpoint,
)

NAME_KEYS = tuple(setting.parameter for setting in SETTINGS)
"""The lab's resource names an attendee may have chosen otherwise (see mmtui.target.names)."""

KEYS = (
    "name",
    "account_id",
    "profile",
    "role_arn",
    "role_name",
    "external_id",
    "source_profile",
    "endpoint_url",
    "access_key_id",
    "secret_access_key",
    "primary_region",
    "secondary_region",
    "workspace",
    *NAME_KEYS,
)
PER_ATTENDEE_ONLY = ("name", "account_id", "workspace")
DEFAULTABLE = tuple(key for key in KEYS if key not in PER_ATTENDEE_ONLY)

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z-]+)?:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
ROLE_NAME = iam_actions.ROLE_NAME
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


@dataclass(frozen=True)
class Attendee:
    name: str
    spec: TargetSpec
    account_id: str | None
    """The account the file names (None: not said)."""
    where: str
    """`file:line` of the attendee's entry, for messages."""

    @property
    def way_in(self) -> str:
        spec = self.spec
        if spec.role is not None:
            on = f" on {spec.endpoint_url}" if spec.endpoint_url else ""
            return f"role {spec.role.arn}{on}"
        if spec.endpoint_url:
            return f"endpoint {spec.endpoint_url}"
        return f"profile {spec.profile}"


@dataclass
class Entry:
    """One attendee's raw values, and where each came from."""

    values: dict[str, Any]
    line: int
    line_of: Callable[[str], int]


class Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))

    def raise_if_any(self) -> None:
        if self.items:
            unique = sorted(set(self.items))
            lines = [f"{self.path}:{line}: {message}" for line, message in unique]
            raise MmtuiError("\n".join(lines), ExitCode.USAGE)


def load_targets(path: Path) -> list[Attendee]:
    """The attendees of a targets file; MmtuiError (exit 2) naming every problem by line."""
    problems = Problems(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MmtuiError(f"--targets: {path} does not exist") from None
    except OSError as exc:
        raise MmtuiError(f"--targets: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise MmtuiError(f"{path}:1: the file is not UTF-8 text ({exc.reason})") from None
    entries, defaults = (
        _csv_entries(path, text, problems)
        if looks_like_csv(path, text)
        else _yaml_entries(path, problems)
    )
    # Every problem of the file in one message, not one round per kind (newcomer walkthrough):
    # the attendees are judged even when the file's shape had problems, and a name counts as
    # taken even when its attendee has problems of its own.
    attendees: list[Attendee] = []
    seen: dict[str, int] = {}
    for entry in entries:
        attendee = _attendee(path, entry, defaults, problems)
        name = _given_name(entry)
        if name is not None:
            key = name.casefold()
            if key in seen:
                problems.add(entry.line, f"duplicate name {name!r} (first at line {seen[key]})")
                continue
            seen[key] = entry.line
        if attendee is not None:
            attendees.append(attendee)
    if not entries and not problems.items:
        problems.add(1, "no attendees: list at least one, each with a name and a way in")
    problems.raise_if_any()
    return attendees


def _given_name(entry: Entry) -> str | None:
    """The name an entry gives, as text (None: none, or not text)."""
    raw = entry.values.get("name")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    return str(raw).strip() or None


def looks_like_csv(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return True
    if suffix in (".yaml", ".yml", ".json"):
        return False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return "," in stripped and ":" not in stripped.split(",")[0]
    return False


# ---------------------------------------------------------------------- reading


def _yaml_entries(path: Path, problems: Problems) -> tuple[list[Entry], Entry | None]:
    from mmtui.content.yamlload import YamlError, load_yaml

    try:
        loaded = load_yaml(path)
    except YamlError as exc:
        problems.add(exc.line, exc.message)
        return [], None
    data = loaded.data
    root: tuple[str | int, ...] = ()
    defaults: Entry | None = None
    if isinstance(data, dict):
        for key in data:
            if key not in ("attendees", "defaults"):
                problems.add(
                    loaded.line_of((key,)),
                    f"unknown key {key!r} at the top (expected attendees and defaults)",
                )
        if "defaults" in data:
            raw = data["defaults"]
            if not isinstance(raw, dict):
                problems.add(loaded.line_of(("defaults",)), "defaults must be a mapping of keys")
            else:
                for key in raw:
                    if key not in KEYS:
                        problems.add(loaded.line_of(("defaults", key)), _unknown_key(str(key)))
                    elif key in PER_ATTENDEE_ONLY:
                        problems.add(
                            loaded.line_of(("defaults", key)),
                            f"{key} is each attendee's own; it cannot be a default",
                        )
                defaults = Entry(
                    raw, loaded.line_of(("defaults",)), _lines_under(loaded.line_of, ("defaults",))
                )
        if "attendees" not in data:
            problems.add(1, "no `attendees:` list")
            return [], defaults
        data, root = data["attendees"], ("attendees",)
    if data is None:
        return [], defaults
    if not isinstance(data, list):
        problems.add(loaded.line_of(root), "expected a list of attendees (`- name: ...` entries)")
        return [], defaults
    entries: list[Entry] = []
    for index, item in enumerate(data):
        loc = (*root, index)
        if not isinstance(item, dict):
            problems.add(loaded.line_of(loc), "an attendee must be a mapping (`name: ...` etc.)")
            continue
        entries.append(Entry(item, loaded.line_of(loc), _lines_under(loaded.line_of, loc)))
    return entries, defaults


def _csv_entries(path: Path, text: str, problems: Problems) -> tuple[list[Entry], None]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    header_line = 1
    entries: list[Entry] = []
    last_line = 0
    try:
        for row in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                header_line = line
                for cell in header:
                    if cell not in KEYS:
                        problems.add(line, _unknown_key(cell, "column"))
                for cell in {c for c in header if header.count(c) > 1}:
                    problems.add(line, f"column {cell!r} appears twice")
                continue
            if len(row) > len(header):
                problems.add(line, f"{len(row)} cells but the header has {len(header)} columns")
                continue
            values = {
                key: cell.strip()
                for key, cell in zip(header, row, strict=False)
                if key in KEYS and cell.strip()
            }
            entries.append(Entry(values, line, _same_line(line)))
    except csv.Error as exc:
        problems.add(reader.line_num, f"invalid CSV: {exc}")
    if header is None:
        problems.add(1, "no header row: the first row names the columns (name, profile, ...)")
    elif "name" not in header:
        problems.add(header_line, "no `name` column")
        return [], None  # each row would add "has no name": the header says it once
    return entries, None


def _lines_under(
    line_of: Callable[[tuple[str | int, ...]], int], loc: tuple[str | int, ...]
) -> Callable[[str], int]:
    return lambda key: line_of((*loc, key))


def _same_line(line: int) -> Callable[[str], int]:
    return lambda _key: line


def _unknown_key(key: str, what: str = "key") -> str:
    close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(KEYS)})"
    return f"unknown {what} {key!r}{hint}"


# ---------------------------------------------------------------------- validating

DEFAULT_ORDER = (
    "endpoint_url",
    "role_name",
    "role_arn",
    "profile",
    "external_id",
    "source_profile",
    "access_key_id",
    "secret_access_key",
    "primary_region",
    "secondary_region",
    *NAME_KEYS,
)


def _default_fits(key: str, own: dict[str, Any]) -> bool:
    """A default applies where it makes sense: a room-wide `role_name` to the attendees with an
    `account_id`, a room-wide external id to those with a role, a room-wide endpoint to those
    without a profile of their own, and so on."""
    has = {k for k, v in own.items() if v not in (None, "")}
    role = bool(has & {"role_arn", "role_name"})
    if key == "endpoint_url":
        return "profile" not in has
    if key == "role_name":  # a room's role: in each attendee's own account
        return not role and "profile" not in has and "account_id" in has
    if key == "role_arn":
        return not role and "profile" not in has
    if key == "profile":
        return not role and "endpoint_url" not in has
    if key in ("external_id", "source_profile"):
        return role and not (key == "source_profile" and "endpoint_url" in has)
    if key in ("access_key_id", "secret_access_key"):
        return "endpoint_url" in has
    return True


def _attendee(
    path: Path, entry: Entry, defaults: Entry | None, problems: Problems
) -> Attendee | None:
    count = len(problems.items)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, value in entry.values.items():
        if isinstance(key, str) and key in KEYS:
            values[key] = value
            lines[key] = entry.line_of(key)
        else:
            problems.add(entry.line_of(str(key)), _unknown_key(str(key)))
    if defaults is not None:
        for key in DEFAULT_ORDER:
            if key in defaults.values and key not in values and _default_fits(key, values):
                values[key] = defaults.values[key]
                lines[key] = defaults.line_of(key)

    def line(key: str) -> int:
        return lines.get(key, entry.line)

    text: dict[str, str] = {}
    refused: set[str] = set()
    for key, value in values.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            problems.add(line(key), f"{key} must be text, not {type(value).__name__}")
            continue
        control = first_control(str(value))
        if control is not None:
            # Refused here rather than escaped at every printer (red-team F4): a name reaches
            # progress lines, tables, error messages, role session names and workspace
            # folders, and no instructor means an escape sequence or a bell in one.
            problems.add(
                line(key),
                f"{key} '{escape_controls(str(value).strip())}' holds the control character "
                f"{control} (a terminal would act on it): use printable text",
            )
            refused.add(key)
            continue
        text[key] = str(value).strip()

    name = text.get("name")
    if name is None and "name" not in refused:
        problems.add(entry.line, "an attendee has no name")

    account_id = text.get("account_id")
    if account_id is not None and not ACCOUNT_ID.match(account_id):
        problems.add(
            line("account_id"),
            f"{_who(name)}account_id {account_id!r} is not 12 digits"
            + (
                " (one that starts with 0 must be quoted, '0123...', or YAML reads a number)"
                if isinstance(values.get("account_id"), int)
                else ""
            ),
        )

    spec = _spec(path, name or "", text, line, entry.line, problems)
    if len(problems.items) > count or spec is None or name is None:
        return None
    if (
        spec.role is not None
        and account_id is not None
        and spec.role.account_id != account_id
        and "role_arn" in text
    ):
        problems.add(
            line("role_arn"),
            f"{_who(name)}role_arn is in account {spec.role.account_id} but account_id says "
            f"{account_id}",
        )
        return None
    return Attendee(name, spec, account_id, f"{path}:{entry.line}")


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0, DEL and C1: what a terminal interprets (ESC starts sequences, BEL rings, CR rewrites)."""


def first_control(text: str) -> str | None:
    """The first control character of `text`, written as an escape (`\\x1b`), or None."""
    found = _CONTROLS.search(text)
    return None if found is None else f"\\x{ord(found.group()):02x}"


def escape_controls(text: str) -> str:
    """`text` with each control character written as `\\xNN`, safe on a terminal."""
    return _CONTROLS.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def _who(name: str | None) -> str:
    return f"{name}: " if name else ""


def _spec(
    path: Path,
    name: str,
    text: dict[str, str],
    line: Callable[[str], int],
    entry_line: int,
    problems: Problems,
) -> TargetSpec | None:
    from mmtui.target.regions import pair_problem, validate_region

    who = _who(name)

    def fail(key: str, message: str) -> None:
        problems.add(line(key), f"{who}{message}")

    regions: list[str] = []
    for key, default in (
        ("primary_region", DEFAULT_PRIMARY_REGION),
        ("secondary_region", DEFAULT_SECONDARY_REGION),
    ):
        try:
            regions.append(validate_region(text.get(key, default), key))
        except MmtuiError as exc:
            fail(key, str(exc))
    problem = (
        pair_problem(regions[0], regions[1], "primary_region", "secondary_region")
        if len(regions) == 2
        else None
    )
    if problem is not None:
        fail("secondary_region", problem)

    role_given = [key for key in ("role_arn", "role_name") if key in text]
    ways = [key for key in ("profile", "endpoint_url") if key in text] + role_given[:1]
    if not ways:
        problems.add(
            entry_line,
            f"{who}say how to reach the account: profile, role_arn (or role_name with "
            "account_id), or endpoint_url",
        )
        return None
    if len(role_given) == 2:
        fail("role_name", "give role_arn or role_name, not both")
    if "profile" in text and len(ways) > 1:
        other = "role_arn" if role_given else "endpoint_url"
        fail(
            "profile",
            f"profile and {other} are two ways in; choose one"
            + (" (the profile that assumes the role is source_profile)" if role_given else ""),
        )
    if "external_id" in text and not EXTERNAL_ID.match(text["external_id"]):
        fail(
            "external_id",
            "external_id must be 2 to 1224 letters, digits or +=,.@:/- (what STS accepts)",
        )
    for key in ("external_id", "source_profile"):
        if key in text and not role_given:
            fail(key, f"{key} only goes with a role to assume (role_arn or role_name)")
    if "source_profile" in text and "endpoint_url" in text:
        fail("source_profile", "source_profile is for real AWS; on an endpoint give its keys")
    keys = [key for key in ("access_key_id", "secret_access_key") if key in text]
    if keys and "endpoint_url" not in text:
        fail(
            keys[0],
            "access keys in a targets file are only for an endpoint (a sandbox); for real "
            "accounts use a profile or a role",
        )
    elif len(keys) == 1:
        fail(keys[0], "give both access_key_id and secret_access_key, or neither")

    endpoint = None
    if "endpoint_url" in text:
        try:
            endpoint = check_endpoint(text["endpoint_url"], "endpoint_url")
        except MmtuiError as exc:
            fail("endpoint_url", str(exc))

    role = None
    if "role_arn" in text and not ROLE_ARN.match(text["role_arn"]):
        fail("role_arn", f"{text['role_arn']!r} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    elif "role_arn" in text:
        role = text["role_arn"]
    elif "role_name" in text:
        if not ROLE_NAME.match(text["role_name"]):
            fail("role_name", f"{text['role_name']!r} is not a role name")
        elif "account_id" not in text:
            fail("role_name", "role_name needs the attendee's account_id to make the role ARN")
        elif len(regions) == 2:
            role = f"arn:{partition(regions[0])}:iam::{text['account_id']}:role/{text['role_name']}"

    workspace = None
    if "workspace" in text:
        workspace = (path.parent / Path(text["workspace"]).expanduser()).resolve()
        if workspace.exists() and not workspace.is_dir():
            fail("workspace", f"workspace {workspace} is not a folder")

    names: list[tuple[str, str]] = []
    for key in NAME_KEYS:
        if key in text:
            try:
                names.append((key, validate_name(BY_PARAMETER[key], text[key], key)))
            except MmtuiError as exc:
                fail(key, str(exc))

    if len(regions) != 2:
        return None
    kind: TargetKind = "endpoint" if endpoint else "aws"
    return TargetSpec(
        kind,
        regions[0],
        regions[1],
        endpoint_url=endpoint,
        profile=text.get("profile") or text.get("source_profile"),
        workspace=workspace,
        role=AssumeRole(role, text.get("external_id"), session_name(name)) if role else None,
        credentials=(text["access_key_id"], text["secret_access_key"]) if len(keys) == 2 else None,
        names=tuple(names),
    )


def partition(region: str) -> str:
    from mmtui.target.regions import partition_of

    return partition_of(region)


def session_name(name: str) -> str:
    """The role session name CloudTrail will show: mmtui and the attendee."""
    return ("mmtui-" + re.sub(r"[^\w+=,.@-]", "-", name))[:64]


def slug(name: str) -> str:
    """A folder name for an attendee."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:80] or "attendee"
