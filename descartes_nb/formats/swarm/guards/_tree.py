"""Guard expression trees: the nodes, their meaning, compilation to closures, and overlap.

``_parser.py`` turns text into these nodes; this module says what they mean. Values are JSON
values. Equality never mixes booleans and numbers; ordering is defined between two numbers
or two strings and is false otherwise; arithmetic takes numbers only and is bounded before
it is computed (an integer operand or result may have at most ``MAX_INT_BITS`` bits, an
exponent at most ``MAX_EXPONENT``), so that no guard can hold the event loop for long
whatever numbers the context or the event data bring.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from ....core._jsonvalue import JSONValue

MAX_EXPONENT: Final = 64
"""The largest exponent (in absolute value) ``**`` accepts."""
MAX_INT_BITS: Final = 4096
"""The largest integer an arithmetic operation may take or produce, in bits."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, boolean or null written in the guard."""

    value: JSONValue


@dataclass(frozen=True, slots=True)
class Path:
    """``context.a[0]`` is ``Path("context", ("a", 0))``; a missing step reads as null."""

    root: str  # "context" or "data"
    parts: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    """``not x``, ``-x`` or ``+x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic: ``left op right``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare:
    """``a < b <= c``: ``ops`` has one operator fewer than ``operands``."""

    ops: tuple[str, ...]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    """``a and b and c`` or ``a or b``."""

    op: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list written in the guard, such as ``['open', 'draft']``."""

    items: tuple[Node, ...]


Node: TypeAlias = Literal | Path | Unary | Binary | Compare | BoolOp | ListOf
Function = Callable[[Mapping[str, JSONValue], JSONValue], object]


# -- meaning ------------------------------------------------------------------------------


_NUMBERS: Final = (int, float)
_SAME_KIND_ORDERED: Final = frozenset({int, float, str})


def _is_number(value: object) -> bool:
    if type(value) in _NUMBERS:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _ordered(test: Callable[[Any, Any], Any]) -> Callable[[object, object], bool]:
    def compare(a: object, b: object) -> bool:
        if type(a) is type(b) and type(a) in _SAME_KIND_ORDERED:  # the common case, quickly
            return bool(test(a, b))
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return bool(test(a, b))
        return False

    return compare


def _contains(item: object, container: object) -> bool:
    if isinstance(container, list):
        return any(_equal(item, x) for x in container)
    if isinstance(container, str | Mapping):
        return isinstance(item, str) and item in container
    return False


_COMPARE: Final[Mapping[str, Callable[[object, object], bool]]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
}


def _power(base: int | float, exponent: int | float) -> int | float:
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"exponent {exponent!r} is out of range (at most {MAX_EXPONENT})")
    big = isinstance(base, int) and isinstance(exponent, int) and exponent > 0
    if big and base.bit_length() * exponent > MAX_INT_BITS:  # type: ignore[union-attr]
        raise OverflowError(f"{base!r} ** {exponent!r} is too large")
    result: int | float = base**exponent
    return result


_ARITHMETIC: Final[Mapping[str, Callable[[int | float, int | float], int | float]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": _power,
}


def _arithmetic(op: str, a: object, b: object) -> int | float:
    if not (_is_number(a) and _is_number(b)):
        raise TypeError(f"operator {op!r} needs two numbers, got {a!r:.80} and {b!r:.80}")
    assert isinstance(a, int | float)
    assert isinstance(b, int | float)
    _check_size(op, a, b)
    result = _ARITHMETIC[op](a, b)
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise OverflowError(f"the result of {op!r} has more than {MAX_INT_BITS} bits")
    if isinstance(result, complex):  # a negative number to a fractional power
        raise ValueError(f"{a!r} {op} {b!r} is not a real number")
    return result


def _check_size(op: str, a: int | float, b: int | float) -> None:
    """Refuse, before computing it, an operation on integers too long to be cheap.

    Integer multiplication and division take time that grows with the operands' length (62 s
    for ``//`` on two 11-million-bit integers); with operands of at most ``MAX_INT_BITS`` bits
    every operation takes microseconds, and a product is refused if it could be longer.
    """
    bits_a = a.bit_length() if isinstance(a, int) else 0
    bits_b = b.bit_length() if isinstance(b, int) else 0
    if bits_a > MAX_INT_BITS or bits_b > MAX_INT_BITS:
        raise OverflowError(
            f"operator {op!r} refused: an operand has {max(bits_a, bits_b)} bits, more than "
            f"the {MAX_INT_BITS} allowed"
        )
    if op == "*" and bits_a + bits_b > MAX_INT_BITS:
        raise OverflowError(
            f"operator '*' refused: the product of a {bits_a}-bit and a {bits_b}-bit integer "
            f"could have more than the {MAX_INT_BITS} bits allowed"
        )


def _negate(value: object) -> int | float:
    if not _is_number(value):
        raise TypeError(f"unary '-' needs a number, got {value!r}")
    assert isinstance(value, int | float)
    return -value


def _read(value: object, parts: tuple[str | int, ...]) -> object:
    for part in parts:
        if isinstance(part, str):
            is_mapping = type(value) is dict or isinstance(value, Mapping)
            value = value.get(part) if is_mapping else None  # type: ignore[attr-defined]
        elif isinstance(value, list) and part < len(value):
            value = value[part]
        else:
            return None
    return value


# -- compilation --------------------------------------------------------------------------


def compile_node(node: Node) -> Function:
    """Return a closure ``f(context, data)`` that evaluates ``node``."""
    return _COMPILERS[type(node)](node)


def _compile_literal(node: Node) -> Function:
    assert isinstance(node, Literal)
    value = node.value
    return lambda context, data: value


def _compile_path(node: Node) -> Function:
    assert isinstance(node, Path)
    parts = node.parts
    if node.root == "context":
        if len(parts) == 1 and isinstance(parts[0], str):
            key = parts[0]
            return lambda context, data: context.get(key)  # the context is always a mapping
        return lambda context, data: _read(context, parts)
    return lambda context, data: _read(data, parts)


def _compile_unary(node: Node) -> Function:
    assert isinstance(node, Unary)
    operand = compile_node(node.operand)
    if node.op == "not":
        return lambda context, data: not operand(context, data)
    if node.op == "-":
        return lambda context, data: _negate(operand(context, data))
    return lambda context, data: -_negate(operand(context, data))


def _compile_binary(node: Node) -> Function:
    assert isinstance(node, Binary)
    op, left, right = node.op, compile_node(node.left), compile_node(node.right)
    return lambda context, data: _arithmetic(op, left(context, data), right(context, data))


def _compile_compare(node: Node) -> Function:
    assert isinstance(node, Compare)
    tests = [_COMPARE[op] for op in node.ops]
    operands = [compile_node(n) for n in node.operands]
    if len(tests) == 1:  # no chain: one call fewer per operand
        test, left, right = tests[0], operands[0], operands[1]
        if isinstance(node.operands[1], Literal):
            value = node.operands[1].value
            return lambda context, data: test(left(context, data), value)
        return lambda context, data: test(left(context, data), right(context, data))

    def compare(context: Mapping[str, JSONValue], data: JSONValue) -> bool:
        left = operands[0](context, data)
        for test, operand in zip(tests, operands[1:], strict=True):
            right = operand(context, data)
            if not test(left, right):
                return False
            left = right
        return True

    return compare


def _compile_bool(node: Node) -> Function:
    assert isinstance(node, BoolOp)
    items = [compile_node(item) for item in node.items]
    if len(items) == 2:  # the common case: one closure calling two
        return _both(*items) if node.op == "and" else _either(*items)
    # A loop rather than nested closures, whose depth would grow with the number of items.
    return _all(items) if node.op == "and" else _any(items)


def _both(first: Function, second: Function) -> Function:
    return lambda context, data: bool(first(context, data) and second(context, data))


def _either(first: Function, second: Function) -> Function:
    return lambda context, data: bool(first(context, data) or second(context, data))


def _all(items: list[Function]) -> Function:
    def every(context: Mapping[str, JSONValue], data: JSONValue) -> bool:
        return all(item(context, data) for item in items)

    return every


def _any(items: list[Function]) -> Function:
    def some(context: Mapping[str, JSONValue], data: JSONValue) -> bool:
        return any(item(context, data) for item in items)

    return some


def _compile_list(node: Node) -> Function:
    assert isinstance(node, ListOf)
    items = [compile_node(n) for n in node.items]
    return lambda context, data: [item(context, data) for item in items]


_COMPILERS: Final[Mapping[type, Callable[[Node], Function]]] = {
    Literal: _compile_literal,
    Path: _compile_path,
    Unary: _compile_unary,
    Binary: _compile_binary,
    Compare: _compile_compare,
    BoolOp: _compile_bool,
    ListOf: _compile_list,
}


def has_path(node: Node) -> bool:
    """Whether ``node`` reads the context or the event data anywhere."""
    if isinstance(node, Path):
        return True
    if isinstance(node, Literal):
        return False
    if isinstance(node, Unary):
        return has_path(node.operand)
    if isinstance(node, Binary):
        return has_path(node.left) or has_path(node.right)
    children = node.operands if isinstance(node, Compare) else node.items
    return any(has_path(child) for child in children)


# -- overlap ------------------------------------------------------------------------------

# An atom is one test of one path against constants: (path, operator, constant).
_Atom = tuple[tuple[str, tuple[str | int, ...]], str, object]
_FLIPPED: Final = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def may_overlap(a: Node, b: Node) -> bool | None:
    """Whether some context and data make both guards true; None when this cannot tell.

    Decided for guards that are ``and``-ed tests of paths against constants (such as
    ``context.n >= 2 and data.kind == 'x'``), by trying one value from every region the
    constants cut the number line and the strings into.
    """
    atoms_a, atoms_b = _atoms(a), _atoms(b)
    if atoms_a is None or atoms_b is None:
        return None
    by_path: dict[tuple[str, tuple[str | int, ...]], list[_Atom]] = {}
    for atom in (*atoms_a, *atoms_b):
        by_path.setdefault(atom[0], []).append(atom)
    paths = list(by_path)
    for p in paths:
        for q in paths:
            if p != q and p[0] == q[0] and q[1][: len(p[1])] == p[1]:
                return None  # one path reads inside the other: they are not independent
    return all(_satisfiable(atoms) for atoms in by_path.values())


def _atoms(node: Node) -> list[_Atom] | None:
    if isinstance(node, BoolOp) and node.op == "and":
        found: list[_Atom] = []
        for item in node.items:
            atoms = _atoms(item)
            if atoms is None:
                return None
            found.extend(atoms)
        return found
    if isinstance(node, Literal):
        return [] if node.value else None
    if isinstance(node, Compare) and len(node.ops) == 1:
        return _compare_atom(node.ops[0], *node.operands)
    return None


def _compare_atom(op: str, left: Node, right: Node) -> list[_Atom] | None:
    if isinstance(left, Literal) and isinstance(right, Path) and op in _FLIPPED:
        left, right, op = right, left, _FLIPPED[op]
    if not isinstance(left, Path):
        return None
    key = (left.root, left.parts)
    if isinstance(right, Literal):
        return [(key, op, right.value)]
    listed = isinstance(right, ListOf) and all(isinstance(i, Literal) for i in right.items)
    if op in ("in", "not in") and isinstance(right, ListOf) and listed:
        return [(key, op, [item.value for item in right.items if isinstance(item, Literal)])]
    return None


def _satisfiable(atoms: list[_Atom]) -> bool:
    constants: list[object] = []
    for _, op, value in atoms:
        constants.extend(value if op in ("in", "not in") and isinstance(value, list) else [value])
    return any(
        all(_COMPARE[op](candidate, value) for _, op, value in atoms)
        for candidate in _candidates(constants)
    )


def _candidates(constants: Iterable[object]) -> list[object]:
    """One value from each region the constants split the values into."""
    numbers: list[Any] = sorted({c for c in constants if _is_number(c)})
    strings = sorted({c for c in constants if isinstance(c, str)})
    found: list[object] = [None, True, False, "", 0, *numbers, *strings]
    if numbers:
        found += [numbers[0] - 1, numbers[-1] + 1]
        found += [(x + y) / 2 for x, y in itertools.pairwise(numbers)]
    found += [s + "\0" for s in strings]  # just above s, below anything else above s
    return found
