"""The pages of a SQLite file, for tests that damage some: b-tree leaves and their rows.

Just enough of the file format (https://sqlite.org/fileformat2.html) to find which leaf
pages a table or an index has, and which rowids a table's leaf page holds.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

_INTERIOR = {2, 5}  # index, table
_LEAF = {10, 13}
_TABLE_LEAF = 13


def page_size(data: bytes) -> int:
    size = int.from_bytes(data[16:18], "big")
    return 65536 if size == 1 else size


def _header(data: bytes, page: int) -> int:
    """The offset in the file of a page's b-tree header (page 1 starts with the file's)."""
    return (page - 1) * page_size(data) + (100 if page == 1 else 0)


def _cells(data: bytes, page: int) -> list[int]:
    """The file offsets of a b-tree page's cells."""
    start = (page - 1) * page_size(data)
    h = _header(data, page)
    count = int.from_bytes(data[h + 3 : h + 5], "big")
    pointers = h + (12 if data[h] in _INTERIOR else 8)
    return [
        start + int.from_bytes(data[pointers + 2 * i : pointers + 2 * i + 2], "big")
        for i in range(count)
    ]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A SQLite varint at ``at``: its value and the offset after it."""
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def leaf_pages(data: bytes, root: int) -> list[int]:
    """The leaf pages of the b-tree rooted at ``root``, in key order."""
    h = _header(data, root)
    kind = data[h]
    if kind in _LEAF:
        return [root]
    assert kind in _INTERIOR, f"page {root} is not a b-tree page ({kind})"
    children = [int.from_bytes(data[c : c + 4], "big") for c in _cells(data, root)]
    children.append(int.from_bytes(data[h + 8 : h + 12], "big"))
    return [leaf for child in children for leaf in leaf_pages(data, child)]


def rowids(data: bytes, page: int) -> list[int]:
    """The rowids a table's leaf page holds."""
    assert data[_header(data, page)] == _TABLE_LEAF
    found = []
    for cell in _cells(data, page):
        _size, after = _varint(data, cell)
        found.append(_varint(data, after)[0])
    return found


def root_page(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,))
    finally:
        conn.close()
    return int(root)


def write_garbage(path: Path, pages: list[int], seed: int = 7) -> None:
    """Write garbage over whole pages of the file, as a failing disk might."""
    data = path.read_bytes()
    size = page_size(data)
    garbage = random.Random(seed)
    with path.open("r+b") as file:
        for page in pages:
            noise = bytearray(garbage.randbytes(size))
            noise[0] = 0xEE  # no b-tree page type: SQLite must notice, whatever the rest says
            file.seek((page - 1) * size)
            file.write(noise)
