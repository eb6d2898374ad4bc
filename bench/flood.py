"""A flood of misbehaving clients for the API: each trickles the headers of a request it never finishes,
one byte at a time, and reconnects whenever it is hung up on. Run as a process of its own:

    python flood.py SOCKET CLIENTS SECONDS

It prints "flooding" once every client has connected, and at the end how many connections it made.
Used by bench/search_latency.py (phase 4) and tests/daemon/api/test_api_flood.py.
"""

from __future__ import annotations

import asyncio
import sys

HEADERS = b"POST /v1/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Padding: "
BYTE_EVERY = 0.05  # seconds


async def trickle(path: str, until: float, connected: asyncio.Event, counter: list[int]) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < until:
        try:
            _reader, writer = await asyncio.open_unix_connection(path)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        counter[0] += 1
        connected.set()
        try:
            i = 0
            while loop.time() < until:
                writer.write(HEADERS[i : i + 1] if i < len(HEADERS) else b"x")
                await writer.drain()
                i += 1
                await asyncio.sleep(BYTE_EVERY)
        except OSError:
            pass  # hung up on: connect again
        finally:
            writer.close()


async def main(path: str, clients: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    events = [asyncio.Event() for _ in range(clients)]
    counter = [0]
    tasks = [asyncio.create_task(trickle(path, until, e, counter)) for e in events]
    await asyncio.gather(*(e.wait() for e in events))
    print("flooding", flush=True)
    await asyncio.gather(*tasks)
    print(f"connections made: {counter[0]}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
