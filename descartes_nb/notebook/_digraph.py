"""Diagram: the ``graphviz.Digraph`` this library returns, rendered by the renderer it found.

The graphviz package runs a ``dot`` found on ``PATH``, with no time limit. A ``Diagram``
renders itself (``pipe``, ``render``, ``view`` and its Jupyter display) with
``find_renderer()``'s program (``graphviz-pure`` when no system Graphviz is installed)
within ``render_timeout()``, so importing the notebook layer has to change nothing for
graphviz's own classes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, overload

import graphviz

from ..errors import RenderError
from ._effort import Size
from ._fit import FIT_WIDTH_PT, inline_html, responsive, svg_width_pt
from ._legend import LegendItem, with_legend
from ._render import failure_bundle, run_renderer

_IMAGES: Final = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpeg"}
_NARROWER: Final = 0.85  # top to bottom replaces left to right when this much narrower


class Diagram(graphviz.Digraph):  # type: ignore[misc]  # graphviz is untyped
    """A ``graphviz.Digraph`` drawn with the renderer ``find_renderer()`` picks, in time.

    ``pipe()``, ``render()`` and ``view()`` take graphviz's arguments (options after the
    first keyword-only, as graphviz recommends) and a ``timeout`` in seconds (default:
    ``render_timeout()``). In Jupyter it shows its SVG, or, when the render fails or runs
    out of time, why and its DOT source; its text form is the DOT source.

    Example:
        >>> g = Diagram(body=["a -> b"])
        >>> g.pipe(format="svg", encoding="utf-8").count('class="node"')
        2
    """

    @overload
    def pipe(
        self,
        format: str | None = ...,
        *,
        renderer: str | None = ...,
        formatter: str | None = ...,
        neato_no_op: bool | int | None = ...,
        quiet: bool = ...,
        engine: str | None = ...,
        encoding: None = ...,
        timeout: float | None = ...,
    ) -> bytes: ...

    @overload
    def pipe(
        self,
        format: str | None = ...,
        *,
        renderer: str | None = ...,
        formatter: str | None = ...,
        neato_no_op: bool | int | None = ...,
        quiet: bool = ...,
        engine: str | None = ...,
        encoding: str,
        timeout: float | None = ...,
    ) -> str: ...

    def pipe(
        self,
        format: str | None = None,  # graphviz's name
        *,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        engine: str | None = None,
        encoding: str | None = None,
        timeout: float | None = None,
    ) -> bytes | str:
        """Return the graph rendered to ``format`` (bytes, or text decoded with ``encoding``).

        Raises:
            ValueError: an unknown engine, format, renderer or formatter, or a bad timeout.
            RenderError: no renderer, or it failed on this graph (its message is included).
            RenderTimeoutError: it took longer than the time limit and was stopped.
        """
        options = self._options(engine, format, renderer, formatter, neato_no_op)
        data = self._run(options, timeout=timeout, quiet=quiet)
        return data if encoding is None else data.decode(encoding)

    def render(
        self,
        filename: str | os.PathLike[str] | None = None,
        directory: str | os.PathLike[str] | None = None,
        *,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,  # graphviz's name
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        quiet_view: bool = False,
        outfile: str | os.PathLike[str] | None = None,
        engine: str | None = None,
        raise_if_result_exists: bool = False,
        overwrite_source: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Save the DOT source, render it next to it (or to ``outfile``); return that path.

        As ``graphviz.Digraph.render``: without ``outfile`` the result is the source file's
        name plus ``.format``; with it, the format is read from its suffix unless given.

        Raises:
            ValueError: an unknown engine or format, no format to be read from ``outfile``,
                ``outfile`` is the source file, or a bad timeout.
            graphviz.FileExistsError: ``raise_if_result_exists`` and the result exists.
            RenderError: no renderer, or it failed (its message is included).
            RenderTimeoutError: it took longer than the time limit and was stopped.
        """
        target = None if outfile is None else Path(outfile)
        if target is not None:  # the paths graphviz.Digraph.render would use
            format = format or _format_of(target)
            target = target if directory is not None else Path(self.directory, target)
            filename = target.with_suffix(".gv") if filename is None else filename
        format = format or self.format
        options = self._options(engine, format, renderer, formatter, neato_no_op)
        source = Path(self.save(filename, directory=directory))
        if target is None:
            suffix = ".".join(part for part in (formatter, renderer, format) if part)
            target = source.with_name(f"{source.name}.{suffix}")
        elif not overwrite_source and target.resolve() == source.resolve():
            raise ValueError(
                f"outfile {str(target)!r} is the DOT source file; pass another outfile "
                "or overwrite_source=True"
            )
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {str(target)!r}")
        target.write_bytes(self._run(options, timeout=timeout, quiet=quiet, cwd=source.parent))
        if cleanup:
            source.unlink()
        if view or quiet_view:
            graphviz.view(target, quiet=quiet_view)
        return os.fspath(target)

    legend: tuple[LegendItem, ...] = ()
    """What the legend under the picture explains (set by ``diagram``); none by default."""
    auto_direction: bool = False
    """Whether the first display may turn the layout top to bottom, if that fits better."""
    size: Size | None = None
    """Its states, edges and compound states (set by ``diagram``): what a display draws,
    and what it advises when the picture is too large or too slow."""

    def _repr_mimebundle_(
        self,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Jupyter's display: the picture (see ``display_bundle``) and the DOT source.

        The SVG comes inline in HTML (tooltips work) and as an image, with its legend,
        shrinking to the output width; or why it is missing.
        """
        excluded = set(exclude or ())
        wanted = {"text/plain", "image/svg+xml", "text/html"} if include is None else set(include)
        bundle: dict[str, Any] = {}
        if wanted & {"image/svg+xml", "text/html"} - excluded:
            pictures = self.display_bundle()
            bundle.update((k, v) for k, v in pictures.items() if k in wanted - excluded)
        if "text/plain" in wanted - excluded:
            bundle["text/plain"] = self.source  # after the display, which may turn it
        for mimetype in sorted(wanted - excluded - {"image/svg+xml"}):
            if mimetype in _IMAGES:
                bundle.update(self._image(mimetype))
        return bundle

    def display_bundle(self) -> dict[str, str]:
        """The picture for display: ``text/html`` (inline SVG) and ``image/svg+xml``.

        When it cannot be drawn, only ``text/html``: why, what to do, and the DOT source.
        A diagram past the size limit (``MAX_STATES``, ``MAX_EDGES``) is not even tried.
        Never raises a ``RenderError``.
        """
        advice = None if self.size is None else self.size.advice()
        if self.size is not None and self.size.too_large:
            return failure_bundle(RenderError(self.size.refusal()), self.source)
        try:
            svg = self._fitting_svg()
        except RenderError as exc:
            return failure_bundle(exc, self.source, advice=advice)
        svg = with_legend(svg, self.legend)
        return {"image/svg+xml": responsive(svg), "text/html": inline_html(svg)}

    def _fitting_svg(self) -> str:
        """The SVG, turned top to bottom if allowed, needed and much narrower.

        With ``auto_direction``, a left-to-right layout wider than the output area is drawn
        top to bottom too, and the narrower kept; ``source`` then says ``rankdir=TB``.
        """
        svg = self.pipe(format="svg", encoding="utf-8", quiet=True)
        width = svg_width_pt(svg)
        if not self.auto_direction or width is None or width <= FIT_WIDTH_PT:
            return svg
        turned = self.copy()
        turned.graph_attr["rankdir"] = "TB"
        other = turned.pipe(format="svg", encoding="utf-8", quiet=True)
        self.auto_direction = False
        if (svg_width_pt(other) or width) < width * _NARROWER:
            self.graph_attr["rankdir"] = "TB"
            return other
        return svg

    def copy(self) -> Diagram:
        """An independent copy, legend and direction choice included."""
        twin: Diagram = super().copy()
        twin.legend, twin.auto_direction = self.legend, self.auto_direction
        twin.size = self.size
        return twin

    def _image(self, mimetype: str) -> dict[str, Any]:
        """A bitmap for display, or, as for SVG, why it could not be made."""
        try:
            return {mimetype: self.pipe(format=_IMAGES[mimetype], quiet=True)}
        except RenderError as exc:
            advice = None if self.size is None else self.size.advice()
            return failure_bundle(exc, self.source, advice=advice)

    def _options(
        self,
        engine: str | None,
        format: str | None,  # graphviz's name
        renderer: str | None,
        formatter: str | None,
        neato_no_op: bool | int | None,
    ) -> list[str]:
        """The renderer's ``-K``, ``-T`` (and ``-n``) options, each value checked first."""
        engine = engine or self.engine
        output = [format or self.format, renderer, formatter]
        kinds = ("format", "renderer", "formatter")
        allowed = (graphviz.FORMATS, graphviz.RENDERERS, graphviz.FORMATTERS)
        for kind, value, known in zip(kinds, output, allowed, strict=True):
            if value is not None and value not in known:
                raise ValueError(f"unknown {kind} {value!r} (known: {sorted(known)})")
        if engine not in graphviz.ENGINES:
            raise ValueError(f"unknown engine {engine!r} (known: {sorted(graphviz.ENGINES)})")
        if formatter is not None and renderer is None:
            raise graphviz.RequiredArgumentError(f"formatter {formatter!r} needs a renderer")
        options = [f"-K{engine}", "-T" + ":".join(v for v in output if v is not None)]
        if neato_no_op:
            options.append(f"-n{int(neato_no_op)}")
        return options

    def _run(
        self, options: list[str], *, timeout: float | None, quiet: bool, cwd: Path | None = None
    ) -> bytes:
        return run_renderer(
            self.source, options, timeout=timeout, encoding=self.encoding, cwd=cwd, quiet=quiet
        )


def _format_of(outfile: Path) -> str:
    """The output format an ``outfile`` name asks for (``x.svg``: ``svg``)."""
    suffix = outfile.suffix.lstrip(".").lower()
    if suffix not in graphviz.FORMATS:
        raise ValueError(
            f"cannot tell the format from outfile {str(outfile)!r}; pass format= or an "
            f"outfile ending in one of {sorted('.' + f for f in graphviz.FORMATS)}"
        )
    return suffix
