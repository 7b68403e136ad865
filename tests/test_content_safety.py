"""Hostile lab content and targets files: refused with file:line and exit 2, never executed.

The payloads are the red team's (notes/red-team.md L1-L5, L7, F1): Jinja expressions that reach
`os.popen` through `lipsum.__globals__`, YAML alias bombs, nesting thousands deep and Markdown
paths that leave the lab folder. Each test that carries a shell command points it at a marker
file and proves the file was never created.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2
import pytest

from mmtui.content.loader import ContentError, load_guided_lab, load_lab
from mmtui.content.render import TemplateRefused, environment, render
from mmtui.content.template_rules import parse
from mmtui.exitcodes import ExitCode
from tests.broken_content import LAB, line_of, lint, replace_once
from tests.conftest import REPO, invoke, run_mmtui

RULE = "lab text may only use {{ name }} with a parameter or fact"


def _append(path: Path, text: str) -> int:
    """Append `text` as a new last line; its line number."""
    body = path.read_text()
    if not body.endswith("\n"):
        body += "\n"
    path.write_text(body + text + "\n")
    return body.count("\n") + 1


def _popen(marker: Path, quote: str = "'") -> str:
    return f"lipsum.__globals__.os.popen({quote}touch {marker}; id{quote}).read()"


POPEN_REFUSED = (
    "{{ … }} is not a plain name: it uses Jinja's 'lipsum', reads attributes "
    f"(__globals__.os.popen.read), calls a function, holds a literal value; {RULE}"
)


# ------------------------------------------------------------------ templates (L1, L2, L3)


def test_code_in_a_parameter_default_is_refused_and_never_runs(
    lab_copy: Path, tmp_path: Path
) -> None:
    """L1: lint used to render this default and run its shell command."""
    marker = tmp_path / "ran-during-lint"
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(
        lab_yaml,
        'default: "{{ primary_stack }}_Dashboard"',
        f'default: "{{{{ {_popen(marker)} }}}}_Dashboard"',
    )
    result = run_mmtui("lint", str(lab_copy))
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stdout.splitlines() == [
        f"{lab_yaml}:{line_of(lab_yaml, 'lipsum')}: {POPEN_REFUSED}"
    ]
    assert "Traceback" not in result.stderr
    assert not marker.exists()
    # The guide loads content the same way, so it refuses the lab before naming anything.
    with pytest.raises(ContentError) as caught:
        load_lab(lab_copy / LAB).names()
    assert caught.value.exit_code == ExitCode.USAGE
    assert not marker.exists()


def test_code_in_step_markdown_and_intro_is_refused_with_its_line(
    lab_copy: Path, tmp_path: Path
) -> None:
    """L2 and L3: Python internals reached from a step page and the intro."""
    marker = tmp_path / "ran-from-intro"
    step = lab_copy / LAB / "steps" / "1-infrastructure.md"
    intro = lab_copy / LAB / "intro.md"
    mro = _append(step, "Injected: {{ ''.__class__.__mro__ }}")
    subclasses = _append(step, "{{ ''.__class__.__mro__[1].__subclasses__()[0] }}")
    popen = _append(intro, f"{{{{ {_popen(marker, quote=chr(34))} }}}}")
    cycler = _append(intro, "{{ cycler.__init__.__globals__ }}")
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    assert lines == [
        f"{intro}:{popen}: {POPEN_REFUSED}",
        f"{intro}:{cycler}: {{{{ … }}}} is not a plain name: it uses Jinja's 'cycler', reads "
        f"attributes (__init__.__globals__); {RULE}",
        f"{step}:{mro}: {{{{ … }}}} is not a plain name: it reads attributes "
        f"(__class__.__mro__), holds a literal value; {RULE}",
        f"{step}:{subclasses}: {{{{ … }}}} is not a plain name: it reads attributes "
        f"(__class__.__mro__.__subclasses__), indexes a value, calls a function, holds a literal "
        f"value; {RULE}",
    ]
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{{ range(10) }}", "uses Jinja's 'range', calls a function"),
        ("{{ cycler }}", "{{ cycler }}: 'cycler' is one of Jinja's own names"),
        ("{{ joiner() }}", "uses Jinja's 'joiner', calls a function"),
        ("{{ namespace(a=1) }}", "uses Jinja's 'namespace', calls a function"),
        ("{{ dict(a=1) }}", "uses Jinja's 'dict', calls a function"),
        ("{{ self }}", "{{ self }}: 'self' is one of Jinja's own names"),
        ("{{ _secret }}", "{{ _secret }}: '_secret' starts with an underscore"),
        ("{{ table|upper }}", "applies the filter 'upper'"),
        ("{{ table.upper() }}", "reads attributes (upper), calls a function"),
        ("{{ table is defined }}", "applies the test 'defined'"),
        ("{{ table ~ 'x' }}", "computes a value"),
        ("{{ 'a' * 100000000 }}", "computes a value, holds a literal value"),
        ("{{ table if table else table }}", "chooses between values"),
        ("{% for x in table %}{{ x }}{% endfor %}", "{% for %} is not allowed"),
        ("{% set a = 'b' %}", "{% set %} is not allowed"),
        ("{% include 'intro.md' %}", "{% include %} is not allowed"),
        ("{% macro m() %}{% endmacro %}", "{% macro %} is not allowed"),
        ("{{ " + "(" * 3000 + "table" + ")" * 3000 + " }}", "template error: expressions are"),
    ],
    ids=lambda value: value[:30],
)
def test_every_construct_beyond_a_plain_name_is_refused(
    lab_copy: Path, text: str, says: str
) -> None:
    step = lab_copy / LAB / "steps" / "2-data-tier.md"
    line = _append(step, text)
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    assert len(lines) == 1, lines
    where = "1" if "nested" in lines[0] else str(line)
    assert lines[0].startswith(f"{step}:{where}: "), lines
    assert says in lines[0], lines


def test_code_in_a_yaml_text_field_is_refused_on_its_line(lab_copy: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran-from-hint"
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(
        lab_yaml,
        "- This step is a single CloudFormation deployment.",
        f'- "{{{{ {_popen(marker)} }}}}"\n      - This step is a single CloudFormation deployment.',
    )
    workshop = lab_copy / "workshop.yaml"
    replace_once(workshop, 'title: "Mythical', 'title: "{{ lipsum }} Mythical')
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, 'lipsum')}: {POPEN_REFUSED}",
        f"{workshop}:{line_of(workshop, 'lipsum')}: {{{{ lipsum }}}}: 'lipsum' is one of "
        "Jinja's own names, not a parameter or fact",
    ]
    assert not marker.exists()


def test_the_renderer_refuses_what_lint_refuses(tmp_path: Path) -> None:
    """Should such a text ever reach the renderer, it is a content error (exit 2), not a run."""
    marker = tmp_path / "ran-in-render"
    with pytest.raises(TemplateRefused) as caught:
        render(f"{{{{ {_popen(marker)} }}}}", {}, where="steps/x.md")
    assert caught.value.exit_code == ExitCode.USAGE
    assert str(caught.value).startswith("steps/x.md: lab text refused: line 1: {{ … }}")
    with pytest.raises(TemplateRefused, match="line 2: .*reads attributes"):
        render("fine {{ table }}\n{{ table.__class__ }}", {"table": "t"})
    assert not marker.exists()
    assert render("{{ table }} in {{ region }}\n", {"table": "t", "region": "r"}) == "t in r\n"


def test_the_sandbox_stops_what_the_rules_would_miss(tmp_path: Path) -> None:
    """The second wall: a syntax tree compiled past the rules still runs in Jinja's immutable
    sandbox, without Jinja's global helpers."""
    env = environment()
    with pytest.raises(jinja2.sandbox.SecurityError):
        env.from_string(parse("{{ ''.__class__.__mro__ }}")).render()
    with pytest.raises(jinja2.sandbox.SecurityError):
        env.from_string(parse("{{ table.append('x') }}")).render(table=[])
    marker = tmp_path / "ran-in-sandbox"
    with pytest.raises(jinja2.UndefinedError, match="lipsum"):
        env.from_string(parse(f"{{{{ {_popen(marker)} }}}}")).render()
    assert not marker.exists()


def test_the_buildspec_environment_is_the_same_sandbox(tmp_path: Path) -> None:
    from mmtui.gitops.buildspecs import _environment

    env = _environment()
    assert env.from_string('{% set a = "x" %}{{ a }}').render() == "x"
    marker = tmp_path / "ran-in-buildspec"
    with pytest.raises(jinja2.sandbox.SecurityError, match="lipsum"):
        env.from_string(f"{{{{ {_popen(marker)} }}}}").render()
    with pytest.raises(jinja2.sandbox.SecurityError, match="set"):
        env.from_string("{% set a = table.__class__ %}").render(table="t")
    assert not marker.exists()


def test_buildspec_templates_are_linted(tmp_path: Path) -> None:
    folder = tmp_path / "buildspec_templates"
    shutil.copytree(REPO / "buildspec_templates", folder)
    assert lint(folder) == (0, [])
    core = folder / "core" / "buildspec_prod.yml.j2"
    like = folder / "like" / "buildspec_prod.yml.j2"
    shared = folder / "_buildspec_prod.yml.j2"
    marker = tmp_path / "ran-from-buildspec"
    bad = _append(core, f"{{{{ {_popen(marker)} }}}}")
    escape = _append(like, '{% include "../../etc/passwd" %}')
    unknown = _append(shared, "      - echo {{ tertiary_region }}")
    code, lines = lint(folder)
    assert code == ExitCode.USAGE
    assert lines == [
        f"{shared}:{unknown}: template uses {{{{ tertiary_region }}}}, which is neither a "
        "buildspec value (login, primary_repo_uri, secondary_region, secondary_repo_uri) nor "
        "set by "
        "a template",
        f"{core}:{bad}: "
        + POPEN_REFUSED.replace(
            RULE,
            'a buildspec template may only use {{ name }}, {% set name = "text" %}, '
            '{% include "file.j2" %} and {% if name == "text" %} … {% else %} … {% endif %}',
        ),
        f"{like}:{escape}: '../../etc/passwd' is outside the templates folder",
    ]
    # One file on its own is judged with the folder it includes from.
    assert lint(like) == (code, [lines[2]])
    assert not marker.exists()


def test_a_buildspec_template_chooses_only_by_comparing_a_value_with_a_text(
    tmp_path: Path,
) -> None:
    """`{% if login == "get-login" %}` picks the login lines (the build image's CLI decides);
    any other test, and anything refused elsewhere inside a branch, is refused on its line."""
    folder = tmp_path / "buildspec_templates"
    shutil.copytree(REPO / "buildspec_templates", folder)
    shared = folder / "_buildspec_prod.yml.j2"
    marker = tmp_path / "ran-from-if"
    attribute = _append(shared, '{% if login.__class__ == "x" %}a{% endif %}')
    two_names = _append(shared, "{% if login == secondary_region %}a{% endif %}")
    inside = _append(shared, f'{{% if login == "x" %}}{{{{ {_popen(marker)} }}}}{{% endif %}}')
    in_else = _append(shared, '{% if login != "x" %}a{% else %}{{ range }}{% endif %}')
    code, lines = lint(folder)
    assert code == ExitCode.USAGE
    shape = '{% if %} may only compare a name with a text: {% if name == "text" %}'
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{shared}:{attribute}",
        f"{shared}:{two_names}",
        f"{shared}:{inside}",
        f"{shared}:{in_else}",
    ]
    assert lines[0].endswith(shape) and lines[1].endswith(shape)
    assert "not a plain name" in lines[2]
    assert "'range' is one of Jinja's own names" in lines[3]
    assert not marker.exists()


# ----------------------------------------------------------------------- YAML (L4, L5, F1)


def _alias_bomb(levels: int) -> str:
    """A few hundred bytes that expand to 10**levels strings."""
    lines = ["bomb:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines.extend(
        f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]"
        for level in range(1, levels + 1)
    )
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_in_lab_content_is_refused(lab_copy: Path) -> None:
    """L4: lint expanded the aliases until it was killed. Run as a user would, so a regression
    dies with its own process (the subprocess has a time limit)."""
    lab_yaml = lab_copy / LAB / "lab.yaml"
    lab_yaml.write_text(_alias_bomb(9) + lab_yaml.read_text())
    result = run_mmtui("lint", str(lab_copy))
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stdout.splitlines() == [
        f"{lab_yaml}:2: YAML anchors (&a0) are not allowed; write the value out"
    ]


def test_a_yaml_alias_bomb_in_a_targets_file_is_refused(tmp_path: Path) -> None:
    """F1: the same expansion in `mmtui fleet check --targets`."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_alias_bomb(8) + "attendees:\n  - name: ann\n    profile: p\n")
    result = run_mmtui("fleet", "check", "--targets", str(bomb))
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stderr.splitlines() == [
        f"mmtui: {bomb}:2: YAML anchors (&a0) are not allowed; write the value out"
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("defaults: &room\n  profile: p\nattendees:\n  - name: ann\n", "1: YAML anchors (&room)"),
        ("attendees:\n  - name: ann\n    <<: *room\n", "3: YAML aliases (*room)"),
        ("attendees: " + "[" * 5000 + "]" * 5000 + "\n", "1: nested more than 64 levels deep"),
        ("attendees:\n  - name: !foo x\n", "2: invalid YAML: could not determine a constructor"),
        ("attendees:\n  - ? [a, b]\n    : x\n", "2: keys must be plain words"),
    ],
    ids=["anchor", "alias", "nested-5000-deep", "unknown-tag", "list-as-key"],
)
def test_targets_file_refusals_name_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "room.yaml"
    path.write_text(text)
    result = invoke("fleet", "check", "--targets", str(path))
    assert result.code == ExitCode.USAGE, result.stderr
    assert result.stderr.startswith(f"mmtui: {path}:{problem}"), result.stderr


def test_a_lab_yaml_nested_5000_deep_is_refused_with_its_line(lab_copy: Path) -> None:
    """L5: the recursive YAML composer gave an internal RecursionError."""
    lab_yaml = lab_copy / LAB / "lab.yaml"
    line = _append(lab_yaml, "x: " + "[" * 5000 + "]" * 5000)
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    assert lines == [f"{lab_yaml}:{line}: nested more than 64 levels deep"]


# ---------------------------------------------------------------- Markdown outside the lab (L7)


def test_markdown_outside_the_lab_folder_is_refused(lab_copy: Path, tmp_path: Path) -> None:
    lab_yaml = lab_copy / LAB / "lab.yaml"
    replace_once(lab_yaml, "intro: intro.md", "intro: ../../../../../../etc/passwd")
    outside = tmp_path / "elsewhere.md"
    outside.write_text("Not part of the lab.\n")
    (lab_copy / LAB / "steps" / "linked.md").symlink_to(outside)
    replace_once(lab_yaml, "steps/1-infrastructure.md", "steps/linked.md")
    replace_once(lab_yaml, "steps/2-data-tier.md", str(outside))
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    assert lines == [
        f"{lab_yaml}:{line_of(lab_yaml, 'intro: ')}: Markdown file "
        "'../../../../../../etc/passwd' is outside the lab folder",
        f"{lab_yaml}:{line_of(lab_yaml, 'linked.md')}: Markdown file 'steps/linked.md' is "
        "outside the lab folder",
        f"{lab_yaml}:{line_of(lab_yaml, str(outside))}: Markdown file '{outside}' is outside "
        "the lab folder",
    ]
    with pytest.raises(ContentError):
        load_lab(lab_copy / LAB)


def test_a_lab_folder_outside_the_content_root_is_refused(lab_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(lab_copy / LAB, elsewhere)
    workshop = lab_copy / "workshop.yaml"
    replace_once(workshop, f"path: {LAB}", "path: ../elsewhere")
    code, lines = lint(lab_copy)
    assert code == ExitCode.USAGE
    problem = f"{workshop}:{line_of(workshop, 'path: ')}: lab folder '../elsewhere' is outside "
    assert lines == [problem + str(lab_copy)]
    with pytest.raises(ContentError, match="is outside"):
        load_guided_lab("3", lab_copy)
