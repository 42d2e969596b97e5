"""An asyncio agent logging many tool calls at once: each call runs on a
worker thread with the GIL released, so the event loop keeps going."""

from __future__ import annotations

import asyncio
import sys

from vibe_store.aio import AsyncSQLiteStore


async def main(db: str) -> None:
    store = await AsyncSQLiteStore.open(db)
    mission = await store.create_mission("CODING", {"agent": "async"})
    ids = await asyncio.gather(
        *(store.log_tool_call(mission, "fetch", {"page": page}, {"status": 200}) for page in range(20))
    )
    print(f"{len(ids)} calls logged to mission {mission}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ".vibe/state/vibe_agency.db"))
