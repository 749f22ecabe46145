"""Guard expressions: a small, safe language over the context and the event data.

A guard in a Swarm.toml file is text such as ``context.approvals >= 2 and data.ok``. It is
tokenized and parsed here into a tree of plain nodes, checked once (at load time), and
compiled into closures; file text is never handed to ``eval``, ``exec`` or Python's parser.

The language: ``context`` and ``data`` paths (``context.a.b``, ``data["key"]``,
``context.items[0]``; a missing key reads as ``null``), literals (numbers, 'strings',
``true``, ``false``, ``null``, ``[lists]``), arithmetic on numbers (``+ - * / // % **``),
comparisons (``== != < <= > >=``, chained like Python), ``in`` / ``not in``, and ``and``,
``or``, ``not`` with parentheses. There are no names, calls or attributes beyond the two
paths, and limits on length, nesting, literal sizes and exponents keep evaluation cheap.
Ordering comparisons between different kinds of values (a number and a string, or null)
are false rather than errors, so ``context.approvals >= 2`` is simply false before
``approvals`` is set; arithmetic on anything but numbers raises when evaluated.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from ....core._jsonvalue import JSONValue
from ....errors import DefinitionError
from ._tree import (
    Binary,
    BoolOp,
    Compare,
    ListOf,
    Literal,
    Node,
    Path,
    Unary,
    compile_node,
    has_path,
    may_overlap,
)

MAX_LENGTH: Final = 1000
"""The longest guard text accepted, in characters."""
MAX_DEPTH: Final = 32
"""The deepest nesting accepted: of parentheses, lists, unary operators and ``**`` in the
text, and of operations in the parsed tree (``a + b + c`` nests two deep). Parsing,
checking, compiling and evaluating a guard recurse through that nesting, so this bound
keeps every one of them far from Python's recursion limit."""
_MAX_DIGITS: Final = 30

_TOKEN: Final = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
    | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\*\*|//|==|!=|<=|>=|&&|\|\||[-+*/%<>()\[\].,=!])
    """,
    re.VERBOSE | re.ASCII,
)
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_LITERALS: Final[Mapping[str, JSONValue]] = {"true": True, "false": False, "null": None}
_ROOTS: Final = frozenset({"context", "data"})
_ESCAPES: Final = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
_MISTAKES: Final = {"=": "==", "!": "not", "&&": "and", "||": "or"}
_COMPARISONS: Final = frozenset({"==", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "name", "op" or "end"
    text: str
    column: int  # 1-based


class _Refused(Exception):
    """A problem at one column of the guard text (turned into a DefinitionError)."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


class Expression:
    """A parsed guard, callable as ``guard(context, data) -> bool``.

    Build one with ``parse_guard(text)``.

    Example:
        >>> guard = parse_guard("context.approvals >= 2 and data.ok")
        >>> guard({"approvals": 2}, {"ok": True}), guard({}, {"ok": True})
        (True, False)
    """

    __slots__ = ("_function", "text", "tree")

    def __init__(self, text: str, tree: Node) -> None:
        self.text = text
        self.tree = tree
        self._function: Callable[[Mapping[str, JSONValue], JSONValue], object] = compile_node(tree)

    def __call__(self, context: Mapping[str, JSONValue], data: JSONValue) -> bool:
        """Evaluate the guard; raises on arithmetic errors (division by zero, non-numbers)."""
        return bool(self._function(context, data))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def may_overlap(self, other: object) -> bool | None:
        """Whether some context and data make this guard and ``other`` both true.

        None when this cannot tell: ``other`` is not an expression, or either is more than
        ``and``-ed tests of paths against constants (see ``_tree.may_overlap``).
        """
        if not isinstance(other, Expression):
            return None
        return may_overlap(self.tree, other.tree)


def parse_guard(text: str) -> Expression:
    """Parse and check a guard expression; see the module docstring for the language.

    Raises:
        DefinitionError: the text is not a valid guard, or is refused as unsafe (calls,
            names other than ``context`` and ``data``, dunder keys, huge literals or
            exponents, nesting deeper than ``MAX_DEPTH``); the message gives the column.
    """
    if not isinstance(text, str):
        raise DefinitionError(f"a guard must be a str, got {text!r}", key="guard")
    try:
        if len(text) > MAX_LENGTH:
            raise _Refused(f"a guard may be at most {MAX_LENGTH} characters, got {len(text)}", 1)
        tree = _Parser(text).parse()
        _check_depth(tree)
        _check_constants(tree)
    except _Refused as exc:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise DefinitionError(
            f"guard {shown!r}: {exc} (at column {exc.column})", key="guard"
        ) from None
    return Expression(text.strip(), tree)


def _check_depth(tree: Node) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH (measured without recursing, to be safe)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    if deepest > MAX_DEPTH:
        raise _Refused(
            f"operations nest {deepest} levels deep, deeper than the {MAX_DEPTH} allowed "
            "(each operator of a chain such as a + b + c adds one)",
            1,
        )


def _check_constants(tree: Node) -> None:
    """Evaluate the parts that read no path once, so that ``1/0`` or ``9**9**9`` fail now."""
    if has_path(tree):
        for child in _children(tree):
            _check_constants(child)
        return
    try:
        compile_node(tree)({}, None)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise _Refused(f"{exc}", 1) from None


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, BoolOp | ListOf):
        return node.items
    if isinstance(node, Compare):
        return node.operands
    if isinstance(node, Literal | Path):
        return ()
    return (node.left, node.right)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Refused(f"unexpected character {text[position]!r}", position + 1)
        kind = match.lastgroup
        assert kind is not None
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the tokens; each method parses one precedence level."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise _Refused("a guard cannot be empty", 1)
        node = self.parse_or()
        if self.token.kind != "end":
            raise self.unexpected()
        return node

    def take(self, text: str) -> bool:
        if self.token.text == text and self.token.kind in ("op", "name"):
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.take(text):
            raise self.unexpected(f"expected {text!r}")

    def unexpected(self, wanted: str = "") -> _Refused:
        token = self.token
        if token.kind == "end":
            return _Refused(
                f"the guard ends too early{'; ' + wanted if wanted else ''}", token.column
            )
        hint = _MISTAKES.get(token.text) if token.kind == "op" else None
        detail = f" (did you mean {hint!r}?)" if hint else (f" ({wanted})" if wanted else "")
        return _Refused(f"unexpected {token.text!r}{detail}", token.column)

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", self.token.column)

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.take("or"):
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_not()]
        while self.take("and"):
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_not(self) -> Node:
        if self.take("not"):
            self.nest()
            node = Unary("not", self.parse_not())
            self.depth -= 1
            return node
        return self.parse_compare()

    def parse_compare(self) -> Node:
        operands = [self.parse_sum()]
        ops: list[str] = []
        while True:
            token = self.token
            if token.kind == "op" and token.text in _COMPARISONS:
                self.index += 1
                ops.append(token.text)
            elif self.take("in"):
                ops.append("in")
            elif token.text == "not" and self.tokens[self.index + 1].text == "in":
                self.index += 2
                ops.append("not in")
            else:
                break
            operands.append(self.parse_sum())
        if not ops:
            return operands[0]
        return Compare(tuple(ops), tuple(operands))

    def parse_binary(self, ops: frozenset[str], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.token.kind == "op" and self.token.text in ops:
            op = self.token.text
            self.index += 1
            node = Binary(op, node, operand())
        return node

    def parse_sum(self) -> Node:
        return self.parse_binary(frozenset({"+", "-"}), self.parse_term)

    def parse_term(self) -> Node:
        return self.parse_binary(frozenset({"*", "/", "//", "%"}), self.parse_unary)

    def parse_unary(self) -> Node:
        token = self.token
        if token.kind == "op" and token.text in ("-", "+"):
            self.index += 1
            self.nest()
            node = Unary(token.text, self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_power()

    def parse_power(self) -> Node:
        base = self.parse_atom()
        token = self.token
        if token.kind == "op" and token.text == "(":
            raise _Refused("calls are not allowed", token.column)
        if token.kind == "op" and token.text in (".", "["):
            raise _Refused(
                "attribute and item access is only allowed in context and data paths",
                token.column,
            )
        if self.take("**"):
            self.nest()  # right-associative, like Python: a chain of ** recurses here
            exponent = self.parse_unary()
            self.depth -= 1
            return Binary("**", base, exponent)
        return base

    def parse_atom(self) -> Node:
        token = self.token
        self.index += 1
        if token.kind == "number":
            return Literal(_number(token))
        if token.kind == "string":
            return Literal(_string(token))
        if token.kind == "name":
            return self.parse_name(token)
        if token.text == "(":
            self.nest()
            node = self.parse_or()
            self.expect(")")
            self.depth -= 1
            return node
        if token.text == "[":
            return self.parse_list()
        self.index -= 1
        raise self.unexpected("expected a value, a context or data path, or '('")

    def parse_name(self, token: _Token) -> Node:
        if token.text in _LITERALS:
            return Literal(_LITERALS[token.text])
        if token.text not in _ROOTS:
            if self.token.text == "(":
                raise _Refused(f"calls are not allowed ({token.text!r})", token.column)
            close = difflib.get_close_matches(token.text.lower(), [*_ROOTS, *_LITERALS], 1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _Refused(
                f"unknown name {token.text!r} ({hint}a guard reads context.<key> and "
                "data.<key>; literals are numbers, 'strings', true, false and null)",
                token.column,
            )
        parts: list[str | int] = []
        while True:
            if self.take("."):
                parts.append(self.parse_key(self.token))
            elif self.take("["):
                parts.append(self.parse_index(self.token))
                self.expect("]")
            else:
                break
        if self.token.text == "(":
            raise _Refused("calls are not allowed", self.token.column)
        return Path(token.text, tuple(parts))

    def parse_key(self, token: _Token) -> str:
        if token.kind != "name":
            raise self.unexpected("expected a key after '.'")
        self.index += 1
        return _checked_key(token.text, token.column)

    def parse_index(self, token: _Token) -> str | int:
        self.index += 1
        if token.kind == "string":
            return _checked_key(_string(token), token.column)
        if token.kind == "number" and token.text.isdigit() and len(token.text) <= 9:
            return int(token.text)
        self.index -= 1
        raise self.unexpected("expected a 'key' or a list index")

    def parse_list(self) -> Node:
        self.nest()
        items: list[Node] = []
        while not self.take("]"):
            items.append(self.parse_or())
            if not self.take(","):
                self.expect("]")
                break
        self.depth -= 1
        return ListOf(tuple(items))


def _checked_key(key: str, column: int) -> str:
    if key.startswith("__"):
        raise _Refused(f"keys starting with '__' are not allowed ({key!r})", column)
    if key in _KEYWORDS:
        raise _Refused(f"{key!r} is a keyword; write it as [{key!r}]", column)
    return key


def _number(token: _Token) -> int | float:
    text = token.text
    mantissa = re.split("[eE]", text)[0]
    if len(mantissa.replace(".", "")) > _MAX_DIGITS:
        raise _Refused(f"number {text[:40]!r} has more than {_MAX_DIGITS} digits", token.column)
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        if value in (float("inf"), float("-inf")) or (value == 0 and mantissa.strip("0.")):
            raise _Refused(f"number {text!r} is out of range", token.column)
        return value
    return int(text)


def _string(token: _Token) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]
            if escaped not in _ESCAPES:
                raise _Refused(f"unknown escape '\\{escaped}' in a string", token.column + i + 1)
            out.append(_ESCAPES[escaped])
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)
