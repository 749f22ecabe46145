"""Parsing SCXML text into a small element tree that knows each element's line.

``xml.etree`` drops positions, so the tree is built from ``xml.parsers.expat`` (the parser
``xml.etree`` itself runs on), which reports the line of every element. No DTD is read: a
document with a ``<!DOCTYPE`` is refused before any declaration in it is looked at, so no
entity can be defined, let alone expanded (the "billion laughs" and external-entity attacks
need one); a reference to an undefined entity is a syntax error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from xml.parsers import expat

from ...errors import DefinitionProblem

SCXML_NS: Final = "http://www.w3.org/2005/07/scxml"
DN_NS: Final = "urn:x-descartes-nb:scxml"
"""The namespace of the attributes that carry what SCXML has no word for (descriptions,
timeouts, retries, terminal states, implicit transitions, ``@previous``)."""
_SEP: Final = "\x1f"  # splits "namespace<sep>local" in expat's names; never in a URI


@dataclass(slots=True)
class Node:
    """One element: its local name, namespace, attributes (by local name), children, line.

    Attributes in the descartes_nb namespace are in ``dn``; attributes in any other
    namespace (editors' layout notes, ``xml:lang``) are dropped.
    """

    tag: str
    namespace: str
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    dn: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text: str = ""

    @property
    def is_scxml(self) -> bool:
        """Whether the element is in the SCXML namespace (or in none, read as SCXML)."""
        return self.namespace in (SCXML_NS, "")


class ParseError(Exception):
    """Why the text is not a document this reader accepts; carries a problem with its line."""

    def __init__(self, problem: DefinitionProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def parse(text: str, source: str) -> Node:
    """Return the root element of ``text``.

    Raises:
        ParseError: the text is not well-formed XML, or it has a DOCTYPE.
    """
    builder = _Builder(source)
    parser = expat.ParserCreate(namespace_separator=_SEP)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder.parser = parser
    parser.StartDoctypeDeclHandler = builder.doctype
    parser.EntityDeclHandler = builder.entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        message = f"not well-formed XML: {expat.ErrorString(exc.code)} (column {exc.offset + 1})"
        raise ParseError(DefinitionProblem(message, source=source, line=exc.lineno)) from exc
    assert builder.root is not None  # expat refuses a document without an element
    return builder.root


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parser: expat.XMLParserType | None = None
        self.stack: list[Node] = []
        self.root: Node | None = None

    def _line(self) -> int:
        assert self.parser is not None
        return int(self.parser.CurrentLineNumber)

    def _refuse(self, what: str) -> None:
        message = f"{what} is not allowed: SCXML files are read without DTDs or entities"
        raise ParseError(DefinitionProblem(message, source=self.source, line=self._line()))

    def doctype(self, *_: object) -> None:
        self._refuse("a DOCTYPE declaration")

    def entity(self, *_: object) -> None:  # pragma: no cover - a DOCTYPE is refused first
        self._refuse("an entity declaration")

    def start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, tag = name.rpartition(_SEP)
        node = Node(tag, namespace, self._line())
        for key, value in attributes.items():
            space, _, local = key.rpartition(_SEP)
            if not space:
                node.attrs[local] = value
            elif space == DN_NS:
                node.dn[local] = value
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, name: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text += text
