"""Where each key of a TOML document is written: a line index for error messages.

``tomllib`` returns plain dicts without positions, so this module scans the same text once
more and records, for every key path (table headers, keys, inline-table keys and array
items), the line it starts on. It only runs on text ``tomllib`` has already accepted.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Final

KeyPath = tuple[str | int, ...]

_BARE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END: Final = frozenset(",]}\n#")
_MAX_DEPTH: Final = 64  # nested arrays and inline tables deeper than this are skipped
_ESCAPED: Final = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class LineIndex:
    r"""The 1-based line of every key path of one TOML document.

    Example:
        >>> index = LineIndex('[workflow.a]\ninitial_state = "x"\n')
        >>> index.line(("workflow", "a", "initial_state")), index.line(("workflow", "a", "zz"))
        (2, 1)
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[KeyPath, int] = {}
        _Scanner(text, self._lines).run()

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, else of its nearest recorded ancestor, else None."""
        key = tuple(path)
        while key:
            found = self._lines.get(key)
            if found is not None:
                return found
            key = key[:-1]
        return None


class _Scanner:
    """A small recursive scanner of TOML syntax that records where keys start."""

    def __init__(self, text: str, lines: dict[KeyPath, int]) -> None:
        self.text = text
        self.pos = 0
        self.lines = lines
        self.newlines = [i for i, char in enumerate(text) if char == "\n"]
        self.array_tables: dict[KeyPath, int] = {}
        self.depth = 0

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def record(self, path: KeyPath, pos: int) -> None:
        line = self.line_at(pos)
        for end in range(1, len(path) + 1):  # tables a dotted key or header creates, too
            self.lines.setdefault(path[:end], line)

    def run(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip(newlines=True)
            if self.pos >= len(self.text):
                return
            start = self.pos
            if self.peek(2) == "[[":
                self.pos += 2
                name = self.key()
                count = self.array_tables.get(name, -1) + 1
                self.array_tables[name] = count
                table = (*name, count)
                self.record(name, start)
                self.record(table, start)
                self.pos += 2
            elif self.peek() == "[":
                self.pos += 1
                table = self.key()
                self.record(table, start)
                self.pos += 1
            else:
                self.keyval(table)
            if self.pos == start:  # cannot happen on valid TOML; never loop forever
                self.pos += 1

    def skip(self, *, newlines: bool) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return

    def key(self) -> KeyPath:
        parts: list[str | int] = []
        while True:
            self.skip(newlines=False)
            char = self.peek()
            if char in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] in _BARE:
                    self.pos += 1
                parts.append(self.text[start : self.pos])
            self.skip(newlines=False)
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    def keyval(self, base: KeyPath) -> None:
        start = self.pos
        path = (*base, *self.key())
        self.record(path, start)
        self.skip(newlines=False)
        if self.peek() == "=":
            self.pos += 1
        self.value(path)

    def value(self, path: KeyPath) -> None:
        self.skip(newlines=False)
        char = self.peek()
        if char in ("{", "[") and self.depth >= _MAX_DEPTH:
            self.skip_nested()
        elif char in ("{", "["):
            self.pos += 1
            self.depth += 1
            self.items(path, "}" if char == "{" else "]")
            self.depth -= 1
        elif char in ('"', "'"):
            self.string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1

    def items(self, path: KeyPath, close: str) -> None:
        index = 0
        while self.pos < len(self.text):
            self.skip(newlines=True)
            if self.peek() in (close, ""):
                self.pos += 1
                return
            start = self.pos
            if close == "}":
                self.keyval(path)
            else:
                self.record((*path, index), start)
                self.value((*path, index))
                index += 1
            self.skip(newlines=True)
            if self.peek() == "," or self.pos == start:
                self.pos += 1

    def skip_nested(self) -> None:
        """Step over one array or inline table without recording (and without recursion)."""
        level = 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ('"', "'"):
                self.string()
                continue
            if char == "#":
                self.skip(newlines=False)
                continue
            level += (char in "[{") - (char in "]}")
            self.pos += 1
            if level == 0:
                return

    def string(self) -> str:
        """Consume a string of any of the four kinds and return its value (keys need it)."""
        quote = self.peek()
        if self.peek(3) == quote * 3:
            return self.multiline_string(quote)
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            char = self.text[self.pos]
            if char == "\\" and quote == '"':
                out.append(self.escape())
            else:
                out.append(char)
                self.pos += 1
        self.pos += 1
        return "".join(out)

    def multiline_string(self, quote: str) -> str:
        """Consume a multi-line string; its value is never a key, so none is returned."""
        end = self.pos + 3
        while end < len(self.text) and self.text[end : end + 3] != quote * 3:
            end += 2 if quote == '"' and self.text[end] == "\\" else 1
        while self.text[end + 3 : end + 4] == quote:  # up to two more quotes end the string
            end += 1
        self.pos = end + 3
        return ""

    def escape(self) -> str:
        code = self.text[self.pos + 1 : self.pos + 2]
        if code in ("u", "U"):
            size = 4 if code == "u" else 8
            digits = self.text[self.pos + 2 : self.pos + 2 + size]
            self.pos += 2 + size
            return chr(int(digits, 16))
        self.pos += 2
        return _ESCAPED.get(code, code)
