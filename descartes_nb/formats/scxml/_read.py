"""Reading an SCXML element tree into a definition, collecting every problem with its line.

``_load.py`` describes what is read; this module walks the elements. Anything outside the
datamodel-free part is a problem (never skipped): an import is whole or refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from ...core._definition import (
    EVENTLESS,
    PREVIOUS_STATE,
    HistoryKind,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from ...core._duration import parse_duration
from ...core._validate_chart import chart_problems
from ...errors import DefinitionError, DefinitionProblem
from ._parse import SCXML_NS, Node
from ._retry import parse_retry

KINDS: Final = ("state", "parallel", "final", "history")
NEEDS_DATAMODEL: Final = frozenset({
    "datamodel", "data", "assign", "script", "send", "cancel", "invoke", "finalize", "log",
    "if", "elseif", "else", "foreach", "param", "content", "donedata",
})  # fmt: skip
DATA_ATTRIBUTES: Final = frozenset({
    "cond", "expr", "location", "idlocation", "eventexpr", "targetexpr", "typeexpr",
    "srcexpr", "namelist", "src",
})  # fmt: skip
_ATTRIBUTES: Final = {
    "scxml": ("initial", "name", "version", "datamodel", "binding"),
    "state": ("id", "initial"),
    "parallel": ("id",),
    "final": ("id",),
    "history": ("id", "type"),
    "transition": ("event", "target", "type"),
    "initial": (),
    "onentry": (),
    "onexit": (),
    "raise": ("event",),
}
_DN_STATE: Final = ("description", "terminal", "timeout", "retry")
_DN_ATTRIBUTES: Final = {
    "scxml": ("description",),
    "state": _DN_STATE,
    "parallel": _DN_STATE,
    "final": _DN_STATE,
    "history": ("description",),
    "transition": ("implicit", "target"),
}
_CHILDREN: Final = {
    "scxml": ("state", "parallel", "final"),
    "state": (*KINDS, "initial", "transition", "onentry", "onexit"),
    "parallel": ("state", "parallel", "history", "transition", "onentry", "onexit"),
    "final": ("onentry", "onexit"),
    "history": ("transition",),
    "initial": ("transition",),
    "transition": ("raise",),
    "onentry": ("raise",),
    "onexit": ("raise",),
    "raise": (),
}


class ScxmlReader:
    """Builds one definition from an ``<scxml>`` tree; ``problems`` collects what is wrong."""

    def __init__(self, source: str, name: str) -> None:
        self.source = source
        self.name = name
        self.problems: list[DefinitionProblem] = []
        self.states: list[StateDef] = []
        self.transitions: list[TransitionDef] = []
        self.lines: dict[tuple[str | None, str | None], int] = {}

    def add(
        self, node: Node, message: str, state: str | None = None, key: str | None = None
    ) -> None:
        """Report ``message`` at the line of ``node``."""
        where = f"state {state!r}, " if state else ""
        self.problems.append(
            DefinitionProblem(
                f"{where}<{node.tag}>: {message}",
                workflow=self.name,
                state=state,
                key=key or node.tag,
                source=self.source,
                line=node.line,
            )
        )

    def read(self, root: Node) -> WorkflowDefinition | None:
        """The definition, or None when a problem was found."""
        if root.tag != "scxml" or not root.is_scxml:
            self.add(root, f"the root element must be <scxml> (namespace {SCXML_NS!r})")
            return None
        self.check(root, None)
        self.name = root.attrs.get("name", self.name)
        _name_states(root)
        for child in self.children(root, None):
            self.state(child, None)
        if not self.states:
            self.add(root, "needs at least one <state>, <parallel> or <final>")
        initial = self.single(root, "initial", None) or next(
            (s.name for s in self.states if s.parent is None), None
        )
        if initial is None:
            return None
        return self.build(root, initial, root.dn.get("description", ""))

    def build(self, root: Node, initial: str, description: str) -> WorkflowDefinition | None:
        """Construct the definition; its structural and statechart problems, with lines."""
        try:
            d = WorkflowDefinition(
                self.name, tuple(self.states), initial, tuple(self.transitions), description
            )
        except DefinitionError as exc:  # reported with what reading found, all at once
            self.found(root, exc.problems)
            return None
        self.found(root, chart_problems(d))
        return None if self.problems else d

    def found(self, root: Node, problems: Iterable[DefinitionProblem]) -> None:
        """Report problems a definition has, each at the line of its state or transition."""
        for p in problems:
            line = self.lines.get((p.state, p.event), self.lines.get((p.state, None), root.line))
            self.problems.append(
                DefinitionProblem(
                    p.message,
                    workflow=self.name,
                    state=p.state,
                    key=p.key,
                    severity=p.severity,
                    source=self.source,
                    line=line,
                    event=p.event,
                )
            )

    # -- elements ---------------------------------------------------------------------------

    def check(self, node: Node, state: str | None) -> None:
        """Report attributes and text this reader does not take."""
        allowed = _ATTRIBUTES[node.tag]
        for key in node.attrs:
            if key in DATA_ATTRIBUTES:
                why = "needs a datamodel, which load_scxml does not read"
                self.add(node, f"attribute {key!r} {why}", state, key)
            elif key not in allowed:
                self.add(node, f"unknown attribute {key!r} (allowed: {list(allowed)})", state, key)
        dn_allowed = _DN_ATTRIBUTES.get(node.tag, ())
        for key in node.dn:
            if key not in dn_allowed:
                self.add(node, f"unknown attribute dn:{key} (allowed: {list(dn_allowed)})", state)
        if node.text.strip():
            self.add(node, f"text is not allowed here, got {node.text.strip()!r:.40}", state)

    def children(self, node: Node, state: str | None) -> Iterator[Node]:
        """The SCXML children of ``node`` this reader takes; the others are reported."""
        allowed = _CHILDREN[node.tag]
        for child in node.children:
            if not child.is_scxml:
                continue  # another vocabulary (an editor's layout notes): not SCXML's meaning
            if child.tag in allowed:
                self.check(child, child.attrs.get("id") if child.tag in KINDS else state)
                yield child
            elif child.tag in NEEDS_DATAMODEL:
                self.add(child, "needs a datamodel, which load_scxml does not read", state)
            else:
                known = "" if child.tag in _CHILDREN else "unknown element; "
                where = f"{known}not allowed in <{node.tag}> (allowed: {list(allowed)})"
                self.add(child, where, state)

    def single(self, node: Node, key: str, state: str | None) -> str | None:
        """An attribute that names one state (SCXML allows several; this reader, one)."""
        names = node.attrs.get(key, "").split()
        if len(names) > 1:
            self.add(node, f"{key!r} names several states {names}, only one is supported", state)
        return names[0] if names else None

    def flag(self, node: Node, key: str, state: str | None) -> bool:
        """A ``dn:`` attribute that is ``"true"`` or ``"false"`` (left out: false)."""
        value = node.dn.get(key, "false")
        if value not in ("true", "false"):
            self.add(node, f"dn:{key} must be 'true' or 'false', got {value!r}", state, key)
        return value == "true"

    def state(self, node: Node, parent: str | None) -> None:
        """Read a <state>, <parallel>, <final> or <history> and what it holds."""
        name = node.attrs["id"]
        self.lines[(name, None)] = node.line
        if node.tag == "history":
            self.history(node, name, parent)
            return
        initial = self.single(node, "initial", name)
        entry: list[str] = []
        exit_: list[str] = []
        rest: list[Node] = []
        for child in self.children(node, name):
            if child.tag in KINDS:
                rest.append(child)
            elif child.tag == "initial":
                initial = self.initial_element(child, name, initial, node)
            elif child.tag in ("onentry", "onexit"):
                (entry if child.tag == "onentry" else exit_).extend(self.raises(child, name))
            else:
                self.transition(child, name)
        self.states.append(self.state_def(node, name, parent, initial, entry, exit_))
        for child in rest:  # children after the state itself: document (pre-)order
            self.state(child, name)

    def state_def(
        self,
        node: Node,
        name: str,
        parent: str | None,
        initial: str | None,
        entry: list[str],
        exit_: list[str],
    ) -> StateDef:
        """The StateDef of a state element, with the descartes_nb attributes it carries."""
        timeout = node.dn.get("timeout")
        retry = node.dn.get("retry")
        try:
            return StateDef(
                name,
                terminal=self.flag(node, "terminal", name),
                description=node.dn.get("description", ""),
                parent=parent,
                initial=initial,
                timeout=None if timeout is None else parse_duration(timeout),
                retry=None if retry is None else parse_retry(retry),
                parallel=node.tag == "parallel",
                final=node.tag == "final",
                raise_on_entry=tuple(entry),
                raise_on_exit=tuple(exit_),
            )
        except ValueError as exc:
            self.add(node, f"dn:timeout or dn:retry: {exc}", name)
            return StateDef(name, parent=parent)

    def initial_element(
        self, node: Node, state: str, given: str | None, owner: Node
    ) -> str | None:
        """The child an <initial> element's transition names."""
        if given is not None or "initial" in owner.attrs:
            self.add(node, "the initial child is given twice (attribute and element)", state)
        target = self.default_target(node, state)
        if target is None:
            self.add(node, "needs a <transition> with a target", state)
        return target

    def default_target(self, node: Node, state: str) -> str | None:
        """The one target of the lone plain <transition> inside <initial> or <history>."""
        transitions = [c for c in self.children(node, state) if c.tag == "transition"]
        if len(transitions) > 1:
            self.add(node, "holds more than one <transition>", state)
        if not transitions:
            return None
        t = transitions[0]
        if t.children or t.dn or set(t.attrs) - {"target"}:
            self.add(t, "a default transition has only a target here", state)
        return self.single(t, "target", state)

    def history(self, node: Node, name: str, parent: str | None) -> None:
        """Read a <history> pseudo-state and its default transition."""
        kind = node.attrs.get("type", "shallow")
        if kind not in ("shallow", "deep"):
            self.add(node, f"type must be 'shallow' or 'deep', got {kind!r}", name, "type")
            kind = "shallow"
        history: HistoryKind = "deep" if kind == "deep" else "shallow"
        default = self.default_target(node, name)
        description = node.dn.get("description", "")
        self.states.append(
            StateDef(
                name, description=description, parent=parent, history=history, default=default
            )
        )

    def raises(self, node: Node, state: str) -> list[str]:
        """The events an <onentry>, <onexit> or <transition> body raises, in order."""
        events = []
        for child in self.children(node, state):
            event = child.attrs.get("event", "")
            if not event or len(event.split()) != 1:
                self.add(child, f"needs one event name, got {event!r}", state, "event")
            events.append(event)
        return events

    def transition(self, node: Node, source: str) -> None:
        """Read a <transition>: one TransitionDef per event descriptor, in document order."""
        kind = node.attrs.get("type", "external")
        if kind not in ("external", "internal"):
            self.add(node, f"type must be 'external' or 'internal', got {kind!r}", source)
        targets = node.attrs.get("target", "").split()
        previous = node.dn.get("target")
        if previous is not None:
            if previous != PREVIOUS_STATE or targets:
                self.add(node, f"dn:target can only be {PREVIOUS_STATE!r}, alone", source)
            targets = [PREVIOUS_STATE]
        raises = tuple(self.raises(node, source))
        implicit = self.flag(node, "implicit", source)
        for event in descriptors(node.attrs.get("event")):
            self.lines.setdefault((source, event), node.line)
            self.transitions.append(
                TransitionDef(
                    source,
                    event,
                    targets[0] if targets else None,
                    implicit=implicit,
                    internal=kind == "internal",
                    more_targets=tuple(targets[1:]),
                    raises=raises,
                )
            )


def descriptors(text: str | None) -> list[str]:
    """The event descriptors of an ``event`` attribute; ``error.*`` reads as ``error``."""
    if text is None:
        return [EVENTLESS]
    found = []
    for word in text.split():
        stripped = word.removesuffix(".*").removesuffix(".") if word != "*" else word
        found.append(stripped or word)
    return found or [EVENTLESS]


def _name_states(root: Node) -> None:
    """Give every state element an ``id``: its own, or a generated ``_<kind><n>``.

    SCXML lets a state leave ``id`` out; the generated ids count every state element in
    document order and skip the ids the document uses.
    """
    nodes = list(_state_nodes(root))
    taken = {n.attrs["id"] for n in nodes if "id" in n.attrs}
    for number, node in enumerate(nodes, start=1):
        if "id" not in node.attrs:
            candidate = f"_{node.tag}{number}"
            while candidate in taken:
                candidate = "_" + candidate
            node.attrs["id"] = candidate
            taken.add(candidate)


def _state_nodes(node: Node) -> Iterator[Node]:
    for child in node.children:
        if child.is_scxml and child.tag in KINDS:
            yield child
            yield from _state_nodes(child)
