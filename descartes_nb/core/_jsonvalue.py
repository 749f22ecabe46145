"""JSON values: the only things a context or event data may hold, read-only once checked.

A checked value is deeply read-only: a context and every object in it is a ``FrozenDict``,
every array a ``FrozenList``: a ``dict`` and a ``list`` for every reading purpose (equality,
``isinstance``, ``repr``, ``json.dumps``, pandas) that refuse every change. So a value handed
out (by ``sm.context``, a history entry, an event) is shared, never copied on read, and
nothing that holds one can change a workflow, or make memory and the store disagree, behind
its back. Handlers change a thawed draft instead (``thaw``), checked and frozen again when
they return.

Every value must also come back from JSON as it went in, so nesting and integer size are
bounded here, the one place that says what a JSON value is (``from_json`` uses the same
bounds through ``to_json_value``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final, NoReturn, TypeAlias

from ..errors import SerializationError
from ._display import short_repr

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
Context: TypeAlias = Mapping[str, JSONValue]

MAX_NESTING: Final = 100
"""How deeply lists and objects may nest: a context counts as one level, event data as none.

Deep enough for any real document, shallow enough that every recursive walk over a value
(checking, encoding, decoding, comparing) stays far from Python's recursion limit.
"""
MAX_INT_DIGITS: Final = 640
"""The most decimal digits an integer may have.

JSON text is written and read by Python's ``json``, which converts integers through
decimal text, and that conversion refuses more digits than ``sys.get_int_max_str_digits()``
(4300 by default, but a process may lower it to 640, never further:
``sys.int_info.str_digits_check_threshold``). Up to 640 digits an integer round-trips
through a snapshot or a store whatever the process's setting.
"""

_INT_BOUND: Final = 10**MAX_INT_DIGITS
_PLAIN: Final = frozenset({str, bool, type(None)})  # accepted as they are, no check needed
_SCALARS: Final = frozenset({str, bool, type(None), int, float})
_ALLOWED: Final = "str, int, float (finite), bool, None, list, dict with str keys"


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: a workflow's context changes only through "
        "set_context() or a handler, and event data never does; copy.deepcopy() gives a "
        "plain copy that can be changed"
    )


class FrozenDict(dict[str, JSONValue]):
    """A checked JSON object that refuses every change; otherwise a plain ``dict``.

    ``FrozenDict(mapping)`` checks and freezes a copy of ``mapping``; ``copy.copy`` and
    ``copy.deepcopy`` give back plain, changeable dicts.

    Example:
        >>> d = FrozenDict({"tags": ["a"]})
        >>> d == {"tags": ["a"]}, isinstance(d["tags"], list)
        (True, True)
        >>> d["tags"].append("b")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: FrozenList is read-only: ...
    """

    __slots__ = ("_depth",)
    _depth: int  # how many levels of objects and arrays, this one included

    def __new__(cls, value: Mapping[str, object] | None = None, /) -> FrozenDict:
        """Check and freeze a copy of ``value`` (its frozen parts are shared)."""
        if value is None:
            return EMPTY_CONTEXT
        if not isinstance(value, Mapping):
            raise SerializationError(f"FrozenDict takes a mapping, got {short_repr(value)}")
        frozen = to_json_value(value, "FrozenDict")
        assert type(frozen) is FrozenDict
        return frozen

    def __init__(self, *args: object) -> None:
        """Do nothing: ``__new__`` filled it, and filling it again would change it."""

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __copy__(self) -> dict[str, JSONValue]:
        return dict(self)

    def __deepcopy__(self, memo: object) -> dict[str, JSONValue]:
        thawed = thaw(self)
        assert isinstance(thawed, dict)
        return thawed

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


class FrozenList(list[JSONValue]):
    """A checked JSON array that refuses every change; otherwise a plain ``list``.

    ``FrozenList(iterable)`` checks and freezes a copy; slicing, ``+`` and ``copy.copy``
    give plain lists, ``copy.deepcopy`` plain lists all the way down.

    Calling ``list``'s own methods on it (``list.append(x, ...)``, or C code such as
    ``heapq`` that writes to any list in place) goes around the refusal, as
    ``object.__setattr__`` goes around a frozen dataclass; nothing in descartes_nb does.
    """

    __slots__ = ("_depth",)
    _depth: int

    def __new__(cls, value: Iterable[object] = (), /) -> FrozenList:
        """Check and freeze a copy of ``value`` (its frozen parts are shared)."""
        items = value if isinstance(value, list | tuple) else list(value)
        frozen = to_json_value(items, "FrozenList")
        assert type(frozen) is FrozenList
        return frozen

    def __init__(self, *args: object) -> None:
        """Do nothing: ``__new__`` filled it, and filling it again would change it."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __copy__(self) -> list[JSONValue]:
        return list(self)

    def __deepcopy__(self, memo: object) -> list[JSONValue]:
        thawed = thaw(self)
        assert isinstance(thawed, list)
        return thawed

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))


_new_dict: Final = dict.__new__
_fill_dict: Final = dict.update
_set_item: Final = dict.__setitem__
_new_list: Final = list.__new__
_fill_list: Final = list.extend


def _frozen_dict(items: dict[str, JSONValue], depth: int) -> FrozenDict:
    frozen: FrozenDict = _new_dict(FrozenDict)
    _fill_dict(frozen, items)
    frozen._depth = depth
    return frozen


EMPTY_CONTEXT: Final = _frozen_dict({}, 1)
_OBJECTS: Final = frozenset({dict, FrozenDict})
_ARRAYS: Final = frozenset({list, FrozenList})


def with_item(context: Mapping[str, JSONValue], key: str, value: JSONValue) -> FrozenDict:
    """``context`` with ``key`` set to ``value``, both already checked (and ``value`` frozen)."""
    frozen: FrozenDict = _new_dict(FrozenDict)
    _fill_dict(frozen, context)
    old = _depth_of(frozen.get(key))
    _set_item(frozen, key, value)
    depth = _depth_of(context) if type(context) is FrozenDict else 1
    if old + 1 < depth:  # the value replaced was not the deepest: no need to look at all
        frozen._depth = max(depth, _depth_of(value) + 1)
    else:
        frozen._depth = max(map(_depth_of, frozen.values()), default=0) + 1
    return frozen


def _depth_of(value: object) -> int:
    kind = type(value)
    return value._depth if kind is FrozenDict or kind is FrozenList else 0  # type: ignore[attr-defined]


def _frozen_list(items: list[JSONValue], depth: int) -> FrozenList:
    frozen: FrozenList = _new_list(FrozenList)
    _fill_list(frozen, items)
    frozen._depth = depth
    return frozen


class _Refusal(Exception):
    """Why a part of a value was refused; ``path`` grows (innermost first) as it unwinds."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


def to_json_value(value: object, where: str, depth: int = 0) -> JSONValue:
    """Return ``value`` checked and deeply read-only (a frozen copy; frozen parts are shared).

    Args:
        value: the candidate value.
        where: how to name the value's place in an error message, e.g. ``"context['step']"``.
        depth: how many levels of objects already hold it (1 for a value in a context).

    Raises:
        SerializationError: ``value`` holds something JSON cannot represent, nests deeper
            than ``MAX_NESTING`` (or holds itself), or an int of more than
            ``MAX_INT_DIGITS`` digits; the message names the place.

    Example:
        >>> to_json_value({"n": [1, 2.5, None]}, "context")
        {'n': [1, 2.5, None]}
    """
    try:
        return _freeze(value, MAX_NESTING - depth)
    except _Refusal as refusal:
        place = where + "".join(f"[{part!r}]" for part in reversed(refusal.path))
        if len(place) > 100:
            place = f"{place[:60]}...{place[-30:]}"
        raise SerializationError(f"{place} {refusal.reason}") from None


def to_context(value: Mapping[str, object] | None, where: str = "context") -> Context:
    """Return a checked, deeply read-only copy of a whole context mapping.

    Raises:
        SerializationError: ``value`` is not a mapping of str to JSON values (see
            ``to_json_value``).
    """
    if value is None:
        return EMPTY_CONTEXT
    if type(value) is not dict and not isinstance(value, Mapping):
        raise SerializationError(
            f"{where} must be a mapping with str keys, got {type(value).__name__} "
            f"{short_repr(value)}"
        )
    if not value:
        return EMPTY_CONTEXT
    checked = to_json_value(value, where)
    assert type(checked) is FrozenDict
    return checked


def thaw(value: object) -> JSONValue:
    """A plain, changeable deep copy of a checked value (for handler drafts)."""
    if isinstance(value, dict):
        return {key: item if type(item) in _SCALARS else thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [item if type(item) in _SCALARS else thaw(item) for item in value]
    assert type(value) in _SCALARS, "thaw takes checked values only"
    return value  # type: ignore[return-value]  # a scalar, as the assert says


def is_same(a: object, b: object) -> bool:
    """Whether two values hold the same JSON, frozen or not (a draft and its original, say).

    Stricter than ``==``, for which ``1``, ``1.0`` and ``True`` are equal and ``0.0`` equals
    ``-0.0``, though each reads back from JSON as itself: a change between them is a change.
    Never calls ``==`` on anything but JSON scalars, so a value that is not JSON (whose
    ``==`` may raise, as a numpy array's does) is simply not the same.
    """
    if a is b:
        return True
    kind = type(a)
    if kind in _SCALARS:
        if kind is not type(b) or a != b:
            return False
        return kind is not float or a != 0 or math.copysign(1, a) == math.copysign(1, b)  # type: ignore[arg-type]
    if isinstance(a, dict) and isinstance(b, dict) and kind in _OBJECTS and type(b) in _OBJECTS:
        return len(a) == len(b) and all(
            key in b and is_same(item, b[key]) for key, item in a.items()
        )
    if isinstance(a, list) and isinstance(b, list) and kind in _ARRAYS and type(b) in _ARRAYS:
        return len(a) == len(b) and all(map(is_same, a, b))
    return False


def _freeze(value: object, room: int) -> JSONValue:
    """Check and freeze ``value``; ``room`` is how many levels of objects and arrays may open.

    Dispatches on the exact type, which is fastest for the plain values nearly all are (and
    sends subclasses the slow way, to be stored as the plain value); mypy cannot narrow on
    ``type(value) is``, hence the ignores.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value  # type: ignore[return-value]
    if kind is int or kind is float:
        return _check_number(value)  # type: ignore[arg-type]
    if kind is FrozenDict or kind is FrozenList:
        if value._depth <= room:  # type: ignore[attr-defined]
            return value  # type: ignore[return-value]  # frozen already: shared, not copied
        raise _Refusal(_too_deep())
    if kind is dict:
        return _freeze_mapping(value, room)  # type: ignore[arg-type]
    if kind is list or kind is tuple:
        return _freeze_list(value, room)  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        return _freeze_mapping(value, room)
    if isinstance(value, list | tuple):
        return _freeze_list(value, room)
    return _freeze_subclass(value, room)


def _check_number(value: int | float) -> int | float:
    if type(value) is int:
        if -_INT_BOUND < value < _INT_BOUND:
            return value
        raise _Refusal(_too_long(value))
    if math.isfinite(value):
        return value
    raise _Refusal(_not_json(value))


def _freeze_mapping(value: Mapping[Any, object], room: int) -> FrozenDict:
    if room <= 0:
        raise _Refusal(_too_deep())
    items: dict[str, JSONValue] = {}
    inner = 0
    for key, item in value.items():
        if type(key) is not str:
            key = _checked_key(key)
        if type(item) in _PLAIN:  # the common case, without a call
            items[key] = item  # type: ignore[assignment]  # a str, bool or None
            continue
        try:
            frozen = items[key] = _freeze(item, room - 1)
        except _Refusal as refusal:
            refusal.path.append(key)
            raise
        kind = type(frozen)
        if (kind is FrozenDict or kind is FrozenList) and frozen._depth > inner:  # type: ignore[union-attr]
            inner = frozen._depth  # type: ignore[union-attr]
    return _frozen_dict(items, inner + 1)


def _checked_key(key: object) -> str:
    if not isinstance(key, str):
        raise _Refusal(
            f"has a key {short_repr(key)} of type {type(key).__name__}; "
            "JSON object keys must be str"
        )
    return str.__str__(key)  # a str subclass (an enum, say) as the plain str it holds


def _freeze_list(value: list[object] | tuple[object, ...], room: int) -> FrozenList:
    if room <= 0:
        raise _Refusal(_too_deep())
    items: list[JSONValue] = []
    inner = 0
    for i, item in enumerate(value):
        if type(item) in _PLAIN:  # the common case, without a call
            items.append(item)  # type: ignore[arg-type]
            continue
        try:
            frozen = _freeze(item, room - 1)
        except _Refusal as refusal:
            refusal.path.append(i)
            raise
        items.append(frozen)
        kind = type(frozen)
        if (kind is FrozenDict or kind is FrozenList) and frozen._depth > inner:  # type: ignore[union-attr]
            inner = frozen._depth  # type: ignore[union-attr]
    return _frozen_list(items, inner + 1)


def _freeze_subclass(value: object, room: int) -> JSONValue:
    """Subclasses of str, int and float (enums, numpy floats) become the plain value they hold."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool cannot be subclassed, so this is not one
        return _check_number(int.__int__(value))
    if isinstance(value, float):
        return _check_number(float.__float__(value))
    raise _Refusal(_not_json(value))


def _not_json(value: object) -> str:
    return (
        f"is {short_repr(value)} of type {type(value).__name__}, which is not JSON "
        f"(allowed: {_ALLOWED})"
    )


def _too_long(value: int) -> str:
    try:
        text = repr(value)
        shown = f"{text[:12]}...{text[-6:]} ({len(text.lstrip('-'))} digits)"
    except ValueError:  # beyond the interpreter's own limit for decimal text
        shown = f"{hex(value)[:14]}... ({value.bit_length()} bits)"
    return (
        f"is an int of more than {MAX_INT_DIGITS} digits: {shown}; at most "
        f"{MAX_INT_DIGITS} are allowed, so that it reads back from JSON as written"
    )


def _too_deep() -> str:
    return (
        f"nests objects and arrays deeper than the {MAX_NESTING} levels allowed (a context "
        "counts as one; a value that contains itself nests without end)"
    )
