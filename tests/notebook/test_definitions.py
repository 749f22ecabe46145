"""Notebook functions take one definition or the mapping load_definitions returns."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pandas as pd
import pytest

import descartes_nb as dn
from descartes_nb import notebook as dnb
from descartes_nb.notebook._frames import DEFINITIONS_ATTR, DefinitionNames, definition_names

SWARM = Path(__file__).resolve().parents[2] / "notebooks" / "workflows" / "swarm.toml"


@pytest.fixture
def defs() -> dict[str, dn.WorkflowDefinition]:
    return dict(dn.load_definitions(SWARM))


async def play(defs, clock, store=None) -> list[dn.WorkflowStateMachine]:
    """An invoice, a deploy and a lifecycle workflow, each a few events in."""
    invoice = dn.WorkflowStateMachine("inv-1", defs["invoice"], clock=clock, store=store)
    await invoice.process_event("submit")
    await invoice.process_event("reject")
    deploy = dn.WorkflowStateMachine("deploy-2", defs["deploy"], clock=clock, store=store)
    await deploy.process_event("success")
    await deploy.process_event("success")
    build = dn.WorkflowStateMachine("build-3", clock=clock, store=store)
    await build.process_event("Start")
    return [invoice, deploy, build]


@pytest.fixture
async def mixed(defs, clock) -> list[dn.WorkflowStateMachine]:
    return await play(defs, clock)


def test_history_frame_says_which_definition_each_workflow_runs(mixed):
    frame = dnb.history_frame(mixed)
    names = frame.attrs[DEFINITIONS_ATTR]
    assert dict(names) == {"inv-1": "invoice", "deploy-2": "deploy", "build-3": "lifecycle"}
    filtered = frame[frame["workflow_id"] != "inv-1"].sort_values("seq").copy()
    assert filtered.attrs[DEFINITIONS_ATTR] is names  # kept, and shared rather than copied
    assert copy.deepcopy(names) is names
    assert pickle.loads(pickle.dumps(names)) == names
    assert repr(names) == "DefinitionNames(3 workflows of ['deploy', 'invoice', 'lifecycle'])"


def test_conformance_checks_each_workflow_against_the_definition_it_runs(defs, mixed):
    frame = dnb.history_frame(mixed)
    assert dnb.conformance(frame, defs).empty
    tampered = frame.copy()
    row = tampered.index[tampered["workflow_id"] == "deploy-2"][0]
    tampered.loc[row, "event"] = "submit"  # an invoice event, recorded in a deploy
    found = dnb.conformance(tampered, defs)
    assert found.index.tolist() == [row]
    assert found.loc[row, "reason"] == "no transition 'submit' from 'Build' in 'deploy'"


def test_conformance_against_one_definition_checks_every_workflow_against_it(defs, mixed):
    frame = dnb.history_frame(mixed)
    found = dnb.conformance(frame, defs["invoice"])
    assert set(found["workflow_id"]) == {"deploy-2", "build-3"}


async def test_conformance_reads_which_definition_from_a_stored_frame(defs, clock, tmp_path):
    async with dn.SqliteWorkflowStore(tmp_path / "workflows.db", clock=clock) as store:
        await play(defs, clock, store)
        frame = await dnb.load_history_frame(store, definitions=defs)
    assert dict(frame.attrs[DEFINITIONS_ATTR])["deploy-2"] == "deploy"
    assert dnb.conformance(frame, defs).empty


def test_conformance_names_a_definition_the_mapping_lacks(defs, mixed):
    frame = dnb.history_frame(mixed)
    del defs["deploy"]
    with pytest.raises(ValueError, match="workflow 'deploy-2' runs definition 'deploy'") as info:
        dnb.conformance(frame, defs)
    assert "['code_implementation', 'invoice']" in str(info.value)


def test_conformance_of_a_frame_that_does_not_say_needs_a_single_definition(defs, mixed):
    frame = dnb.history_frame(mixed[:1])  # the invoice only
    frame.attrs.clear()  # as a frame built by hand, or read from a CSV file
    with pytest.raises(ValueError, match="does not say which definition workflow 'inv-1'"):
        dnb.conformance(frame, defs)
    assert dnb.conformance(frame, {"invoice": defs["invoice"]}).empty


@pytest.mark.parametrize(
    ("definitions", "error", "message"),
    [
        pytest.param("invoice", TypeError, "got str 'invoice'", id="str"),
        pytest.param({"invoice": 3}, TypeError, r"definitions\['invoice'\] must be", id="value"),
    ],
)
def test_conformance_refuses_what_is_not_definitions(mixed, definitions, error, message):
    with pytest.raises(error, match=message):
        dnb.conformance(dnb.history_frame(mixed), definitions)


def test_overlay_takes_the_definition_the_frame_runs_from_the_mapping(defs, mixed):
    frame = dnb.history_frame(mixed[1:2])  # the deploy only
    assert dnb.overlay(defs, frame).source == dnb.overlay(defs["deploy"], frame).source


def test_overlay_of_a_frame_of_several_definitions_asks_for_one(defs, mixed):
    with pytest.raises(ValueError, match="runs \\['deploy', 'invoice', 'lifecycle'\\]") as info:
        dnb.overlay(defs, dnb.history_frame(mixed))
    assert "pass one, such as defs['deploy']" in str(info.value)


def test_overlay_of_a_frame_that_does_not_say_takes_a_single_definition(defs, mixed):
    frame = dnb.history_frame(mixed[:1])
    frame.attrs.clear()
    with pytest.raises(ValueError, match="3 were given") as info:
        dnb.overlay(defs, frame)
    assert "['code_implementation', 'deploy', 'invoice']" in str(info.value)
    single = dnb.overlay({"invoice": defs["invoice"]}, frame)
    assert single.source == dnb.overlay(defs["invoice"], frame).source


def test_diagram_draws_the_only_definition_of_a_mapping(defs):
    assert dnb.diagram({"deploy": defs["deploy"]}).source == dnb.diagram(defs["deploy"]).source
    with pytest.raises(ValueError, match="diagram\\(definitions\\) needs one definition") as info:
        dnb.diagram(defs)
    assert "(definitions given: ['code_implementation', 'deploy', 'invoice'])" in str(info.value)


def test_diagram_of_a_snapshot_takes_its_definition_from_the_mapping(defs, mixed):
    snapshot = mixed[0].serialize()
    drawn = dnb.diagram(snapshot, definition=defs)
    assert drawn.source == dnb.diagram(snapshot, definition=defs["invoice"]).source
    lifecycle = mixed[2].serialize()
    assert dnb.diagram(lifecycle, definition=defs).source == dnb.diagram(lifecycle).source
    with pytest.raises(ValueError, match="workflow 'inv-1' runs definition 'invoice'"):
        dnb.diagram(snapshot, definition={"deploy": defs["deploy"]})


async def test_load_history_frame_takes_one_definition(defs, clock, tmp_path):
    async with dn.SqliteWorkflowStore(tmp_path / "workflows.db", clock=clock) as store:
        sm = dn.WorkflowStateMachine("inv-1", defs["invoice"], store=store, clock=clock)
        await sm.process_event("submit")
        frame = await dnb.load_history_frame(store, definitions=defs["invoice"])
        with pytest.raises(TypeError, match="got int 3"):
            await dnb.load_history_frame(store, definitions=3)  # type: ignore[arg-type]
    assert frame["from_state"].cat.categories.tolist()[:3] == ["Draft", "Approval", "Escalated"]
    assert frame.attrs[DEFINITIONS_ATTR] == DefinitionNames({"inv-1": "invoice"})


def test_frames_without_definitions_attrs_are_still_frames():
    frame = pd.DataFrame({"workflow_id": []})
    assert definition_names(frame) == {}
    frame.attrs[DEFINITIONS_ATTR] = "not a mapping"
    assert definition_names(frame) == {}
