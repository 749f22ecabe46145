"""render: which renderer is used, running it with a time limit, and what graphviz runs as dot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import graphviz
import pytest

import descartes_nb as dn
from descartes_nb.notebook import _render as render
from descartes_nb.notebook._digraph import Diagram

WORKTREE = Path(__file__).resolve().parents[2]
SITE_PACKAGES = sysconfig.get_path("purelib")


@pytest.fixture
def timeout_restored():
    yield
    render.set_render_timeout(render.DEFAULT_TIMEOUT)


def run_python(python: str, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports this worktree's descartes_nb."""
    env = {**env, "PYTHONPATH": os.pathsep.join([str(WORKTREE), SITE_PACKAGES])}
    return subprocess.run(
        [python, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_find_renderer_prefers_graphviz_pure_from_the_scripts_folder(render_env):
    found = render.find_renderer()
    assert found.origin == "graphviz-pure"
    assert found.path.parent == Path(sysconfig.get_path("scripts"))
    assert found.path.name.startswith("graphviz-pure")


def test_find_renderer_env_var_wins(render_env, system_dot):
    render_env.setenv(render.ENV_VAR, str(system_dot))
    assert render.find_renderer() == render.Renderer(system_dot, "env")


def test_find_renderer_env_var_may_name_a_program_on_path(render_env, pure_dot):
    render_env.setenv("PATH", f"{pure_dot.parent}{os.pathsep}{os.environ['PATH']}")
    render_env.setenv(render.ENV_VAR, pure_dot.name)
    assert render.find_renderer() == render.Renderer(pure_dot, "env")


def test_find_renderer_env_var_naming_nothing_is_a_clear_error(render_env, tmp_path):
    missing = str(tmp_path / "no-such-dot")
    render_env.setenv(render.ENV_VAR, missing)
    with pytest.raises(dn.RenderError) as info:
        render.find_renderer()
    assert f"DESCARTES_NB_DOT={missing!r} is not an executable file" in str(info.value)
    assert "unset it" in str(info.value)


def test_system_dot_ignores_the_link_made_for_graphviz(render_env, pure_dot):
    render_env.setenv("PATH", "/nonexistent")
    folder = render.expose_as_dot(render.Renderer(pure_dot, "graphviz-pure"))
    assert folder is not None
    assert os.environ["PATH"] == f"{folder}{os.pathsep}/nonexistent"
    assert Path(str(shutil.which("dot"))).resolve() == pure_dot.resolve()
    assert render.system_dot() is None


def test_expose_as_dot_makes_plain_graphviz_graphs_render(render_env, pure_dot):
    render_env.setenv("PATH", "/nonexistent")
    render.expose_as_dot(render.Renderer(pure_dot, "graphviz-pure"))
    graph = graphviz.Digraph()
    graph.edge("a", "b", label="go")
    svg = graph.pipe(format="svg", encoding="utf-8")  # graphviz runs `dot -Kdot -Tsvg`
    assert svg.count('class="node"') == 2
    assert graph.pipe(format="png")[:4] == b"\x89PNG"
    neato = graphviz.Graph(engine="neato")
    neato.edge("x", "y")
    assert "<svg" in neato.pipe(format="svg", encoding="utf-8")


def test_expose_as_dot_twice_keeps_one_folder_first_on_path(render_env, pure_dot):
    render_env.setenv("PATH", "/nonexistent")
    renderer = render.Renderer(pure_dot, "graphviz-pure")
    first = render.expose_as_dot(renderer)
    second = render.expose_as_dot(renderer)
    assert first == second
    assert os.environ["PATH"].split(os.pathsep) == [str(first), "/nonexistent"]


def test_expose_as_dot_leaves_path_alone_when_dot_already_is_the_renderer(render_env, system_dot):
    render_env.setenv("PATH", str(system_dot.parent))
    assert render.expose_as_dot(render.Renderer(system_dot, "system")) is None
    assert os.environ["PATH"] == str(system_dot.parent)


def test_expose_as_dot_drops_an_earlier_link_when_system_dot_is_chosen(
    render_env, pure_dot, system_dot
):
    render_env.setenv("PATH", str(system_dot.parent))
    render.expose_as_dot(render.Renderer(pure_dot, "graphviz-pure"))
    assert Path(str(shutil.which("dot"))).resolve() == pure_dot.resolve()
    assert render.expose_as_dot(render.Renderer(system_dot, "system")) is None
    assert os.environ["PATH"] == str(system_dot.parent)
    assert Path(str(shutil.which("dot"))) == system_dot


@pytest.mark.requires_dot
def test_render_svg_draws_dot_text_and_graphs():
    svg = render.render_svg('digraph { "a b" -> c }')
    assert svg.lstrip().startswith("<?xml")
    assert svg.count('class="node"') == 2
    graph = graphviz.Digraph()
    graph.edge("x", "y")
    assert "<title>x&#45;&gt;y</title>" in render.render_svg(graph)


@pytest.mark.requires_dot
def test_render_svg_reports_the_renderers_message_on_bad_dot():
    with pytest.raises(dn.RenderError) as info:
        render.render_svg("digraph { a -> }")
    assert "failed with exit status" in str(info.value)
    assert "syntax error" in str(info.value).lower()


@pytest.mark.requires_dot
def test_render_svg_stops_a_render_past_the_time_limit(slow_dot_source):
    with pytest.raises(dn.RenderTimeoutError) as info:
        render.render_svg(slow_dot_source, timeout=1)
    message = str(info.value)
    assert "took longer than the time limit of 1 s" in message
    assert "803 lines" in message
    assert isinstance(info.value, TimeoutError)


@pytest.mark.requires_dot
def test_svg_bundle_past_the_limit_shows_why_and_the_source(slow_dot_source, timeout_restored):
    render.set_render_timeout(1)
    bundle = render.svg_bundle(graphviz.Source(slow_dot_source))
    assert list(bundle) == ["text/html"]
    page = bundle["text/html"]
    assert "diagram not drawn" in page
    assert "time limit of 1 s" in page
    assert "collapse=True" not in page  # a bare source says nothing of compound states
    assert "Draw a smaller graph" in page
    assert "set_render_timeout" in page
    assert "s0 -&gt; s" in page or "-&gt;" in page  # the DOT source, escaped


@pytest.mark.parametrize("bad", [0, -1, "10", None, True, float("nan")])
def test_set_render_timeout_refuses_non_positive_numbers(bad, timeout_restored):
    render.set_render_timeout(3)
    with pytest.raises(ValueError, match="positive number of seconds") as info:
        render.set_render_timeout(bad)
    assert repr(bad) in str(info.value)
    assert render.render_timeout() == 3


def test_render_svg_refuses_a_bad_timeout_before_running_anything():
    with pytest.raises(ValueError, match="got -2"):
        render.render_svg("digraph {}", timeout=-2)


def test_svg_bundle_without_a_usable_renderer_says_why(render_env, tmp_path):
    render_env.setenv(render.ENV_VAR, str(tmp_path / "missing-dot"))
    graph = graphviz.Digraph()
    graph.node("<b>hostile</b>")
    page = render.svg_bundle(graph)["text/html"]
    assert "DESCARTES_NB_DOT=" in page
    assert "&lt;b&gt;hostile&lt;/b&gt;" in page
    assert "<b>hostile" not in page


@pytest.mark.requires_dot
def test_render_svg_with_system_dot(render_env, system_dot):
    render_env.setenv(render.ENV_VAR, str(system_dot))
    svg = render.render_svg("digraph { a -> b }")
    assert "Generated by graphviz version" in svg
    assert "graphviz-pure" not in svg


def test_renderer_is_found_when_path_lacks_the_scripts_folder(tmp_path):
    # A kernel started by a Jupyter outside this environment has none of its bin/ on PATH.
    done = run_python(
        sys.executable,
        """
        import descartes_nb as dn
        from descartes_nb import notebook as dnb
        print(dnb.find_renderer().origin)
        print(dnb.diagram(dn.LIFECYCLE).pipe(format="svg", encoding="utf-8")[:5])
        """,
        {"PATH": "/nonexistent", "PYTHONUSERBASE": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["graphviz-pure", "<?xml"]


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """An interpreter whose scripts folder has no graphviz-pure (a venv without it)."""
    bare = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    return str(bare / "bin" / "python")


FIND = "from descartes_nb import notebook as dnb; print(dnb.find_renderer())"


def test_find_renderer_looks_for_graphviz_pure_on_path_too(bare_python, pure_dot, tmp_path):
    env = {"PATH": str(pure_dot.parent), "PYTHONUSERBASE": str(tmp_path)}
    done = run_python(bare_python, FIND, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Renderer(path={pure_dot!r}, origin='graphviz-pure')\n"


def test_find_renderer_falls_back_to_a_system_dot(bare_python, system_dot, tmp_path):
    env = {"PATH": str(system_dot.parent), "PYTHONUSERBASE": str(tmp_path)}
    done = run_python(bare_python, FIND, env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Renderer(path={system_dot!r}, origin='system')\n"


def test_no_renderer_at_all_gives_one_error_saying_how_to_get_one(bare_python, tmp_path):
    done = run_python(
        bare_python,
        """
        import graphviz
        import descartes_nb as dn
        from descartes_nb import notebook as dnb
        try:
            dnb.render_svg("digraph { a }")
        except dn.RenderError as exc:
            print(exc)
        print(dnb._render.svg_bundle(graphviz.Digraph()).keys())
        """,
        {"PATH": "/nonexistent", "PYTHONUSERBASE": str(tmp_path / "user")},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("no Graphviz renderer found: install graphviz-pure")
    assert "python -m pip install graphviz-pure" in lines[0]
    assert "DESCARTES_NB_DOT" in lines[0]
    assert lines[1] == "dict_keys(['text/html'])"


def test_a_count_label_renders_without_a_warning_about_its_times_sign(caplog):
    # graphviz-pure warns that it has no width for "×" (any non-ASCII character); the
    # width it falls back to is fine, so nothing is logged, even with quiet=False.
    graph = Diagram(body=['a -> b [label="Pause ×2"]'])
    with caplog.at_level("WARNING"):
        svg = graph.pipe(format="svg", encoding="utf-8", quiet=False)
    assert "Pause ×2" in svg
    assert caplog.records == []


def test_the_renderer_noise_filter_keeps_every_other_message():
    said = (
        "Warning: no value for width of non-ASCII character 195. Falling back\n"
        "Warning: node a, port x unrecognized\n"
    )
    assert render._without_noise(said) == "Warning: node a, port x unrecognized"
