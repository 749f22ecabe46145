"""Finding a Graphviz renderer and running it with a time limit.

The renderer is, in this order: the program named by ``DESCARTES_NB_DOT``; the ``graphviz-pure``
program installed with this package (looked for in the interpreter's scripts folder, which is
not on ``PATH`` inside a Jupyter kernel started from outside the environment); a system
``dot``. ``dot`` placement time grows steeply with graph size, so every render has a time
limit, and displays show the DOT source instead of freezing the kernel. Nothing here runs on
import: the renderer is looked for when a graph is drawn.
"""

from __future__ import annotations

import atexit
import html
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import graphviz

from ..errors import RenderError, RenderTimeoutError

ENV_VAR: Final = "DESCARTES_NB_DOT"
DEFAULT_TIMEOUT: Final = 10.0
_PURE: Final = "graphviz-pure"
_HOW_TO_GET_ONE: Final = (
    "no Graphviz renderer found: install graphviz-pure into this environment "
    "(`python -m pip install graphviz-pure`), install Graphviz so that `dot` is on PATH, "
    f"or set {ENV_VAR} to the path of a dot executable"
)

_log = logging.getLogger(__name__)
_settings = {"timeout": DEFAULT_TIMEOUT}
_linked: dict[Path, Path] = {}  # renderer -> the private folder holding a `dot` link to it


@dataclass(frozen=True, slots=True)
class Renderer:
    """A dot-compatible program and where it was found.

    Attributes:
        path: the executable.
        origin: ``"env"`` (named by ``DESCARTES_NB_DOT``), ``"graphviz-pure"``, or
            ``"system"`` (a ``dot`` on ``PATH``).
    """

    path: Path
    origin: Literal["env", "graphviz-pure", "system"]


def find_renderer() -> Renderer:
    """Return the renderer diagrams are drawn with.

    Example:
        >>> find_renderer().origin in ("env", "graphviz-pure", "system")
        True

    Raises:
        RenderError: ``DESCARTES_NB_DOT`` names no executable, or there is no renderer at
            all (the message says how to get one).
    """
    named = os.environ.get(ENV_VAR)
    if named:
        found = shutil.which(named)
        if found is None:
            raise RenderError(
                f"{ENV_VAR}={named!r} is not an executable file; point it at a dot "
                "executable, or unset it to use graphviz-pure or a system dot"
            )
        return Renderer(Path(found), "env")
    for folder in _script_folders():
        found = shutil.which(_PURE, path=str(folder))
        if found is not None:
            return Renderer(Path(found), "graphviz-pure")
    found = shutil.which(_PURE, path=_original_path())
    if found is not None:
        return Renderer(Path(found), "graphviz-pure")
    dot = system_dot()
    if dot is not None:
        return Renderer(dot, "system")
    raise RenderError(_HOW_TO_GET_ONE)


def system_dot() -> Path | None:
    """A Graphviz ``dot`` on ``PATH`` (not the link ``expose_as_dot`` made), if any."""
    found = shutil.which("dot", path=_original_path())
    return None if found is None else Path(found)


def _script_folders() -> Iterator[Path]:
    """Where pip puts programs for this interpreter: its scripts folder, then the user's."""
    yield Path(sysconfig.get_path("scripts"))
    yield Path(sys.executable).parent
    user_scheme = sysconfig.get_preferred_scheme("user")
    yield Path(sysconfig.get_path("scripts", user_scheme))


def _original_path() -> str:
    """``PATH`` without the folders ``expose_as_dot`` put on it."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(p for p in entries if p and Path(p) not in _linked.values())


def render_timeout() -> float:
    """The time limit, in seconds, of renders for display."""
    return _settings["timeout"]


def set_render_timeout(seconds: float) -> None:
    """Set the time limit, in seconds, of renders for display (10 by default).

    Raises:
        ValueError: ``seconds`` is not a positive number.
    """
    _settings["timeout"] = _checked_timeout(seconds)


def _checked_timeout(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ValueError(f"a time limit must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def render_svg(
    graph: graphviz.Source | graphviz.Graph | graphviz.Digraph | str,
    *,
    timeout: float | None = None,
) -> str:
    """Render a graph (or DOT text) to SVG with the renderer ``find_renderer()`` picks.

    Example:
        >>> svg = render_svg("digraph { a -> b }")
        >>> svg.count('class="node"')
        2

    Args:
        graph: a graphviz object, or DOT source text.
        timeout: the time limit in seconds (default: ``render_timeout()``).

    Raises:
        RenderError: no renderer, or it failed on this graph (its message is included).
        RenderTimeoutError: it took longer than ``timeout``; it was stopped.
        ValueError: ``timeout`` is not a positive number.
    """
    source = graph if isinstance(graph, str) else str(graph.source)
    engine = "dot" if isinstance(graph, str) else str(graph.engine)
    return run_renderer(source, [f"-K{engine}", "-Tsvg"], timeout=timeout).decode("utf-8")


def run_renderer(
    source: str,
    options: Sequence[str],
    *,
    timeout: float | None = None,
    encoding: str = "utf-8",
    cwd: Path | None = None,
    quiet: bool = True,
) -> bytes:
    """Run the renderer ``find_renderer()`` picks on DOT ``source``; return what it wrote.

    Args:
        source: DOT text, given to the renderer on its standard input.
        options: its command-line options (``-K...``, ``-T...``), as for ``dot``.
        timeout: the time limit in seconds (default: ``render_timeout()``).
        encoding: how ``source`` is encoded for the renderer.
        cwd: the folder it runs in (relative image paths in the graph resolve there).
        quiet: False to log what the renderer said on standard error when it succeeded.

    Raises:
        RenderError: no renderer, or it failed (its message is included).
        RenderTimeoutError: it took longer than ``timeout``; it was stopped.
        ValueError: ``timeout`` is not a positive number.
    """
    limit = render_timeout() if timeout is None else _checked_timeout(timeout)
    renderer = find_renderer()
    try:
        done = subprocess.run(
            [str(renderer.path), *options],
            input=source.encode(encoding),
            capture_output=True,
            timeout=limit,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderTimeoutError(
            f"{renderer.path.name} took longer than the time limit of {limit:g} s on a graph "
            f"of {len(source.splitlines())} lines and was stopped"
        ) from exc
    except OSError as exc:
        raise RenderError(f"cannot run renderer {str(renderer.path)!r}: {exc}") from exc
    message = _without_noise(done.stderr.decode("utf-8", "replace"))
    if done.returncode != 0:
        raise RenderError(
            f"renderer {str(renderer.path)!r} failed with exit status {done.returncode}: "
            f"{message or '(no message)'}"
        )
    if message and not quiet:
        _log.warning("%s: %s", renderer.path.name, message)
    return done.stdout


# graphviz-pure measures text with a table of ASCII widths and warns about any other
# character, such as the "×" of the counts this library draws; the width it falls back to
# is fine, so the warning says nothing a user can act on.
_NOISE: Final = re.compile(r"^.*no value for width of non-ASCII character.*$\n?", re.MULTILINE)


def _without_noise(stderr: str) -> str:
    return _NOISE.sub("", stderr).strip()


def svg_bundle(graph: graphviz.Source | graphviz.Graph | graphviz.Digraph) -> dict[str, str]:
    """For display: the SVG, or, when rendering fails or times out, the reason and the source.

    Never raises a ``RenderError``: a notebook shows what went wrong instead of a traceback.
    """
    try:
        return {"image/svg+xml": render_svg(graph)}
    except RenderError as exc:
        return failure_bundle(exc, graph.source)


def failure_bundle(exc: RenderError, source: str, *, advice: str | None = None) -> dict[str, str]:
    """For display: why a render failed (with what to do past the time limit), and the source.

    ``advice`` is what the graph's owner can do about its size (``Size.advice()``: collapse
    only when there are compound states); it is shown past the time limit.
    """
    message = str(exc)
    if isinstance(exc, RenderTimeoutError):
        message += f". {advice}, or" if advice else ". Draw a smaller graph, or"
        message += " raise the limit with descartes_nb.notebook.set_render_timeout(seconds)."
    return {"text/html": _failure_html(message, source)}


def _failure_html(message: str, source: str) -> str:
    return (
        '<div class="descartes-nb-render-failure">'
        f"<p><strong>diagram not drawn</strong>: {html.escape(message)}</p>"
        f"<details><summary>DOT source</summary><pre>{html.escape(source)}</pre></details>"
        "</div>"
    )


def expose_as_dot(renderer: Renderer) -> Path | None:
    """Make ``dot`` on this process's PATH run ``renderer``, for code that runs ``dot`` by name.

    The graphviz package (``Digraph.pipe()``, ``render()``) runs ``dot`` from ``PATH``. This
    puts a private folder holding a ``dot`` link to the renderer first on ``PATH`` (removed at
    exit). When ``dot`` on the original ``PATH`` already is the renderer, no folder is needed.
    Only ``use_renderer_for_graphviz()`` calls it, on request: importing never does.

    Returns:
        The folder put on ``PATH``, or None when none was needed.
    """
    target = renderer.path.resolve()
    rest = _original_path()
    current = shutil.which("dot", path=rest)
    if current is not None and Path(current).resolve() == target:
        if rest != os.environ.get("PATH", ""):
            os.environ["PATH"] = rest  # drop a link made for an earlier renderer
        return None
    folder = _linked.get(target) or _link_folder(target)
    os.environ["PATH"] = f"{folder}{os.pathsep}{rest}" if rest else str(folder)
    return folder


def _link_folder(target: Path) -> Path:
    """A new private folder holding ``dot``, a link to (or copy of) ``target``."""
    folder = Path(tempfile.mkdtemp(prefix="descartes_nb-dot-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    link = folder / ("dot.exe" if os.name == "nt" else "dot")
    try:
        link.symlink_to(target)
    except OSError:  # no symlinks allowed (Windows without developer mode): copy it
        shutil.copy2(target, link)
    _linked[target] = folder
    return folder
