"""`descartes-nb render FILE [--workflow NAME] -o OUT`: a workflow drawn as SVG or DOT."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.cli import main
from descartes_nb.notebook import _render as render
from descartes_nb.notebook import diagram

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SWARM = ROOT / "notebooks" / "workflows" / "swarm.toml"
SVG = "{http://www.w3.org/2000/svg}"

ONE_WORKFLOW = """\
[workflow.door]
description = "a door that can be removed"
initial_state = "Closed"

[workflow.door.states.Closed]
on = { open = "Open" }

[workflow.door.states.Open]
on = { close = "Closed", remove = "Gone" }

[workflow.door.states.Gone]
terminal = true
"""

BROKEN = """\
[workflow.door]
initial_state = "Closed"

[workflow.door.states.Closed]
on = { open = "Opne" }
descripton = "shut"

[workflow.door.states.Open]
terminal = true
"""


@pytest.fixture
def door(tmp_path: Path) -> Path:
    path = tmp_path / "door.toml"
    path.write_text(ONE_WORKFLOW)
    return path


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    return path


def svg_texts(svg: str) -> set[str]:
    """The words drawn in an SVG document (it must parse as XML)."""
    root = ET.fromstring(svg.encode("utf-8"))
    return {element.text for element in root.iter(f"{SVG}text") if element.text}


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


@pytest.mark.requires_dot
def test_render_writes_the_named_workflow_as_svg(tmp_path, capsys):
    out = tmp_path / "code.svg"
    status = main(["render", str(SWARM), "--workflow", "code_implementation", "-o", str(out)])
    assert status == 0
    drawn = svg_texts(out.read_text())
    states = dn.load_definitions(SWARM)["code_implementation"].state_names
    assert set(states) <= drawn
    assert {"review", "merge [context.approvals >= 2]"} <= drawn
    captured = capsys.readouterr()
    assert captured.out == f"{out}: workflow 'code_implementation' (7 states, svg)\n"
    assert captured.err == ""


@pytest.mark.requires_dot
def test_render_draws_the_only_workflow_to_stdout_without_a_name(door, capsys):
    assert main(["render", str(door)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("<?xml")
    assert {"door", "Closed", "Open", "Gone", "Failed", "remove"} <= svg_texts(captured.out)
    assert captured.err == ""


@pytest.mark.parametrize("suffix", [".dot", ".gv", ".DOT"])
def test_render_dot_suffix_writes_the_diagram_source(tmp_path, suffix, capsys):
    out = tmp_path / f"deploy{suffix}"
    assert main(["render", str(SWARM), "-w", "deploy", "-o", str(out)]) == 0
    expected = diagram(dn.load_definitions(SWARM)["deploy"]).source
    assert out.read_text() == expected
    assert capsys.readouterr().out == f"{out}: workflow 'deploy' (8 states, dot)\n"


def test_render_format_dot_to_stdout_passes_direction_and_collapse(capsys):
    args = ["render", str(SWARM), "-w", "deploy", "--format", "dot"]
    assert main([*args, "--direction", "TB", "--collapse"]) == 0
    definition = dn.load_definitions(SWARM)["deploy"]
    collapsed = diagram(definition, direction="TB", collapse=True).source
    assert capsys.readouterr().out == collapsed
    assert collapsed != diagram(definition).source  # the options changed the picture


def test_render_dot_needs_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setenv(render.ENV_VAR, str(tmp_path / "no-such-dot"))
    out = tmp_path / "deploy.dot"
    assert main(["render", str(SWARM), "-w", "deploy", "-o", str(out)]) == 0
    assert out.read_text().startswith("digraph workflow {")


def test_render_several_workflows_without_a_name_lists_them_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out.svg"
    out.write_text("earlier drawing")
    assert main(["render", str(SWARM), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"error: {SWARM} has 3 workflows, choose one with --workflow: "
        "['code_implementation', 'invoice', 'deploy']\n"
    )
    assert captured.out == ""
    assert out.read_text() == "earlier drawing"


def test_render_unknown_workflow_suggests_a_name(tmp_path, capsys):
    out = tmp_path / "out.svg"
    assert main(["render", str(SWARM), "-w", "code_implementaton", "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"error: unknown workflow 'code_implementaton' in {SWARM}: did you mean "
        "'code_implementation'? choose from ['code_implementation', 'invoice', 'deploy']\n"
    )
    assert not out.exists()


def test_render_missing_file_is_one_error_line(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    out = tmp_path / "out.svg"
    assert main(["render", str(missing), "-o", str(out)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: cannot read {str(missing)!r}: ")
    assert "No such file or directory" in err[0]
    assert not out.exists()


def test_render_invalid_definition_prints_its_problems_with_lines(broken, tmp_path, capsys):
    out = tmp_path / "out.svg"
    assert main(["render", str(broken), "-o", str(out)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        f"{broken}:5: workflow 'door', state 'Closed', key 'on.open': unknown target state "
        "'Opne' (did you mean 'Open'? states: ['Closed', 'Open'], or '@previous')",
        f"{broken}:6: workflow 'door', state 'Closed': unknown key 'descripton' (did you mean "
        "'description'? allowed: terminal, description, parent, initial, parallel, final, "
        "history, default, timeout, retry, next_on_success, next_on_failure, on_done, on)",
    ]
    assert lines[2:] == [f"error: {broken}: 2 errors, nothing drawn"]
    assert not out.exists()


def test_render_file_that_is_not_toml_cites_the_line(capsys):
    path = FIXTURES / "bad_syntax.toml"
    assert main(["render", str(path), "--format", "dot"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{path}:4: not valid TOML: Expected ']' at the end of a table declaration (column 28)",
        f"error: {path}: 1 error, nothing drawn",
    ]
    assert captured.out == ""


def test_render_named_guard_must_be_declared(capsys):
    path = FIXTURES / "bad_guard_name.toml"
    assert main(["render", str(path), "--format", "dot"]) == 1
    assert "unknown guard 'is_aproved'" in capsys.readouterr().err
    assert main(["render", str(path), "--format", "dot", "--guard", "is_aproved"]) == 0
    assert "[is_aproved]" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["out.png", "out", "out.svg.txt"])
def test_render_output_of_unknown_format_is_refused(tmp_path, name, capsys):
    out = tmp_path / name
    assert main(["render", str(SWARM), "-w", "deploy", "-o", str(out)]) == 1
    assert error_lines(capsys.readouterr().err) == [
        f"error: cannot tell the output format from {str(out)!r}: end it in .svg, .dot, .gv, "
        "or pass --format svg or dot"
    ]
    assert not out.exists()


def test_render_output_in_a_missing_folder_is_an_error(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "folder" / "deploy.dot"
    assert main(["render", str(SWARM), "-w", "deploy", "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"error: cannot write {str(out)!r}: No such file or directory\n"
    )


def test_render_without_a_usable_renderer_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(render.ENV_VAR, str(tmp_path / "no-such-dot"))
    out = tmp_path / "deploy.svg"
    assert main(["render", str(SWARM), "-w", "deploy", "-o", str(out)]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {render.ENV_VAR}={str(tmp_path / 'no-such-dot')!r}")
    assert not out.exists()


def tangle(path: Path, states: int, extra: int) -> Path:
    """A valid workflow whose random transitions take dot minutes to lay out."""
    rnd = random.Random(7)
    lines = ["[workflow.tangle]", 'initial_state = "s0"']
    for i in range(states - 1):
        targets = {"next": f"s{i + 1}"} | {
            f"e{k}": f"s{rnd.randrange(states)}" for k in range(extra)
        }
        lines.append(f"[workflow.tangle.states.s{i}]")
        lines.append("on = { " + ", ".join(f'{e} = "{t}"' for e, t in targets.items()) + " }")
    lines += [f"[workflow.tangle.states.s{states - 1}]", "terminal = true"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.requires_dot
def test_render_past_the_time_limit_is_stopped_and_writes_nothing(tmp_path, capsys):
    source = tangle(tmp_path / "tangle.toml", 200, 4)
    out = tmp_path / "tangle.svg"
    assert main(["render", str(source), "-o", str(out), "--timeout", "1"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "took longer than the time limit of 1 s" in line
    assert line.endswith(
        "draw it with --collapse, raise --timeout, or write the DOT source with -o FILE.dot"
    )
    assert not out.exists()


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "inf", "nan"])
def test_render_bad_time_limit_is_a_usage_error(bad, capsys):
    with pytest.raises(SystemExit) as info:
        main(["render", str(SWARM), "-w", "deploy", "--timeout", bad])
    assert info.value.code == 2
    assert f"expected a positive number of seconds, got {bad!r}" in capsys.readouterr().err


def test_render_help_states_formats_exit_status_and_the_default_time_limit(capsys):
    with pytest.raises(SystemExit) as info:
        main(["render", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert ".dot or .gv for the DOT source" in text
    assert "Exit status: 0 when written; 1 for bad input" in text
    assert f"(default: {render.DEFAULT_TIMEOUT:g}," in text


def console_script() -> Path:
    """The ``descartes-nb`` program installed beside this interpreter."""
    found = shutil.which("descartes-nb", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("descartes-nb is not installed in this environment (pip install -e .)")
    return Path(found)


def run_console(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(console_script()), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


@pytest.mark.requires_dot
def test_console_script_renders_a_file(tmp_path):
    out = tmp_path / "invoice.svg"
    done = run_console("render", str(SWARM), "--workflow", "invoice", "-o", str(out))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == f"{out}: workflow 'invoice' (7 states, svg)\n"
    assert {"Draft", "Approval", "Escalated", "Paid"} <= svg_texts(out.read_text())


def test_console_script_reports_a_broken_file_with_status_1(broken, tmp_path):
    out = tmp_path / "door.svg"
    done = run_console("render", str(broken), "-o", str(out))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == f"error: {broken}: 2 errors, nothing drawn"
    assert not out.exists()


def test_console_script_usage_error_has_status_2():
    done = run_console("render")
    assert done.returncode == 2
    assert "the following arguments are required: FILE" in done.stderr


def test_render_file_without_workflows_has_nothing_to_draw(tmp_path, capsys):
    path = tmp_path / "empty.toml"
    path.write_text("[workflow]\n")  # a table with no workflow in it
    assert main(["render", str(path), "--format", "dot"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"{path}:1: key 'workflow': no workflow found (add a [workflow.<name>] table)\n"
        f"error: {path}: 1 error, nothing drawn\n"
    )
    assert captured.out == ""


def test_render_draws_an_scxml_file(tmp_path, capsys):
    editor = ROOT / "notebooks" / "workflows" / "editor.scxml"
    out = tmp_path / "editor.dot"
    assert main(["render", str(editor), "-o", str(out)]) == 0
    assert out.read_text() == diagram(dn.load_scxml(editor)).source
    assert capsys.readouterr().out == f"{out}: workflow 'editor' (9 states, dot)\n"


def test_render_scxml_that_is_not_xml_cites_the_line(tmp_path, capsys):
    path = tmp_path / "broken.scxml"
    path.write_text('<scxml xmlns="http://www.w3.org/2005/07/scxml">\n<state>\n</scxml>\n')
    assert main(["render", str(path), "-o", str(tmp_path / "out.svg")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:3: not well-formed XML: mismatched tag")
    assert err[1:] == [f"error: {path}: 1 error, nothing drawn"]
