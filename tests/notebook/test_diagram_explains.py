"""Diagrams that explain themselves and fit: legend, implicit edges, Retry to the previous
state, overlays that keep their layout, and the choice of direction."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowEvent as E
from descartes_nb import notebook as dnb
from descartes_nb.notebook._fit import FIT_WIDTH_PT, inline_html, svg_width_pt
from descartes_nb.notebook._legend import TEXT, with_legend

SWARM = """\
[workflow.job]
initial_state = "Queued"
[workflow.job.states.Queued]
on = { start = "Working" }
[workflow.job.states.Working]
retry = { max_attempts = 3, backoff = "fixed", initial = "1s", max = "1s" }
on = { finish = "Done" }
[workflow.job.states.Done]
terminal = true
"""


@pytest.fixture
def job() -> dn.WorkflowDefinition:
    return dn.load_definitions(SWARM)["job"]


def line(source: str, pattern: str) -> str:
    [found] = [s.strip() for s in source.splitlines() if re.search(pattern, s)]
    return found


async def test_retry_returns_to_the_previous_state_through_an_h_never_as_a_violation(
    make_workflow, job
):
    sm = make_workflow(job)
    await sm.process_event("start")
    await sm.process_event(E.fail("disk full"))
    await sm.process_event("Retry")
    source = dnb.diagram(sm).source
    assert "@previous" not in source
    assert "#c62828" not in source  # nothing drawn as not allowed
    ret = line(source, r"^\s*r0 \[")
    assert ret.startswith("r0 [label=H ")
    assert "shape=circle" in ret
    retry = line(source, r"-> r0 ")
    assert 'label="Retry ×1"' in retry
    assert "the previous state (taken once)" in retry
    items = dnb.diagram(sm).legend
    assert "previous" in items
    assert "undefined" not in items
    frame = dnb.history_frame(sm)
    assert dnb.conformance(frame, job).empty
    assert "#c62828" not in dnb.overlay(job, frame).source


def test_implicit_fail_and_timeout_share_one_dashed_grey_arrow(job):
    source = dnb.diagram(job).source
    implicit = line(source, r'^\s*s0 -> s3 \[label="Fail\\nTimeout"')  # Queued --> Failed
    assert "style=dashed" in implicit
    assert 'color="#78909c"' in implicit
    assert "penwidth=0.9" in implicit
    assert "style=dashed" not in line(source, r"label=finish")  # written by the user


async def test_legend_lists_only_what_the_picture_uses(make_workflow):
    assert dnb.diagram(dn.LIFECYCLE).legend == ()  # no colours, no legend
    sm = make_workflow()
    await sm.process_event(E.START)
    await sm.process_event(E.PAUSE)
    await sm.rollback()
    assert dnb.diagram(sm).legend == ("current", "last", "taken", "muted", "rollback")


def test_legend_is_a_strip_under_the_graph_that_keeps_the_layout():
    svg = (
        '<svg width="300pt" height="100pt"\n viewBox="0.00 0.00 300.00 100.00" '
        'xmlns="http://www.w3.org/2000/svg"><g id="graph0"/></svg>'
    )
    out = with_legend(svg, ("current", "last", "undefined"))
    assert out.startswith(
        '<svg width="300pt" height="134.00pt"\n viewBox="0.00 0.00 300.00 134'
    )  # 2 rows
    assert '<g id="graph0"/>' in out
    legend = out[out.index('<g class="legend">') :]
    assert [TEXT[i] in legend for i in ("current", "last", "undefined")] == [True] * 3
    assert with_legend(svg, ()) == svg


def test_legend_wraps_to_the_width_of_a_narrow_graph():
    svg = '<svg width="120pt" height="50pt"\n viewBox="0.00 0.00 120.00 50.00"></svg>'
    out = with_legend(svg, ("current", "last", "taken", "muted"))
    assert 'viewBox="0.00 0.00 120.00 112.00"' in out  # four rows of 14 pt, and 6


def test_inline_html_drops_the_prolog_and_shrinks_to_the_output_width():
    svg = '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg width="900pt" height="50pt"><g/></svg>'
    html = inline_html(svg)
    assert html.startswith('<div class="descartes-nb-picture" style="max-width:100%"><style>')
    assert '<svg width="900pt" height="50pt" style="max-width:100%;height:auto">' in html
    assert "<?xml" not in html
    assert "DOCTYPE" not in html


@pytest.mark.requires_dot
def test_auto_direction_turns_a_wide_diagram_top_to_bottom():
    chain = tuple(dn.StateDef(f"step_number_{i}") for i in range(9))
    wide = dn.WorkflowDefinition(
        "chain",
        states=(*chain, dn.StateDef("end", terminal=True)),
        initial_state="step_number_0",
        transitions=tuple(
            dn.TransitionDef(a.name, "next", b.name)
            for a, b in zip(chain, (*chain[1:], dn.StateDef("end")), strict=True)
        ),
    )
    fixed = dnb.diagram(wide, direction="LR")
    assert (svg_width_pt(fixed.display_bundle()["image/svg+xml"]) or 0) > FIT_WIDTH_PT
    assert "rankdir=LR" in fixed.source  # asked for: kept
    auto = dnb.diagram(wide)
    bundle = auto.display_bundle()
    assert "rankdir=TB" in auto.source  # the source says what is drawn
    assert (svg_width_pt(bundle["image/svg+xml"]) or 0) <= FIT_WIDTH_PT
    small = dnb.diagram(dn.LIFECYCLE)
    small.display_bundle()
    assert "rankdir=LR" in small.source


@pytest.mark.requires_dot
async def test_overlay_of_a_tampered_frame_keeps_the_clean_layout(make_workflow):
    machines = []
    for _ in range(3):
        sm = make_workflow()
        for event in (E.START, E.PAUSE, E.RESUME, E.COMPLETE):
            await sm.process_event(event)
        machines.append(sm)
    frame = dnb.history_frame(machines)
    tampered = frame.copy()
    tampered.loc[0, ["event", "to_state"]] = ["Complete", "Completed"]  # Idle --> Completed
    extra = tampered.tail(1).copy()
    extra[["from_state", "event", "to_state"]] = ["Completed", "Resume", "Running"]
    tampered = pd.concat([tampered, extra], ignore_index=True)
    clean_svg = dnb.overlay(dn.LIFECYCLE, frame).pipe(format="svg", encoding="utf-8")
    bad = dnb.overlay(dn.LIFECYCLE, tampered)
    assert "constraint=false" in line(bad.source, r"s0 -> s3 ")
    bad_svg = bad.pipe(format="svg", encoding="utf-8")

    def ranks(svg: str) -> dict[str, float]:
        """Each state's position along the layout direction (x, left to right)."""
        found = re.findall(
            r"<title>(s\d)</title>\s*(?:<g[^>]*><a[^>]*>\s*)?<\w+[^>]*?"
            r"(?:points|d|cx)=\"M?(-?[\d.]+)",
            svg,
        )
        return {node: float(x) for node, x in found}

    clean, tampered_ranks = ranks(clean_svg), ranks(bad_svg)
    assert set(clean) == {"s0", "s1", "s2", "s3", "s4"}
    order = sorted(clean, key=clean.__getitem__)
    assert sorted(tampered_ranks, key=tampered_ranks.__getitem__) == order
