"""A follower for the changes() tests: ``python follow_child.py DB COUNT``.

It prints ``ready`` once it follows DB's changes, then one JSON line per change, and exits
after COUNT of them.
"""

from __future__ import annotations

import asyncio
import json
import sys

import descartes_nb as dn


async def main(db: str, count: int) -> None:
    async with dn.open_store(db) as store, store.changes(poll_interval=0.02) as feed:
        print("ready", flush=True)
        seen = 0
        async for change in feed:
            print(json.dumps(change), flush=True)
            seen += 1
            if seen == count:
                break


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
