"""Slow and idle clients against a server, for a bounded time (bench/soak.sh runs it
beside normal load). Three kinds, N/3 connections each, each reopened when the server
closes it:

- trickle: full headers with `Content-Length: 1000`, then one body byte per second;
- stalled headers: a request line and one header line, then nothing;
- idle: connect and send nothing.

    python3 bench/slow_clients.py HOST PORT CONNECTIONS SECONDS

Prints one line: connections opened, closed by the server, statuses seen (a slow client
should get 408 or a close, never hold the server).
"""

import asyncio
import collections
import sys
import time


async def one(kind: str, host: str, port: int, deadline: float, stats: collections.Counter) -> None:
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            stats["connect errors"] += 1
            await asyncio.sleep(0.5)
            continue
        stats["opened"] += 1
        try:
            if kind == "trickle":
                writer.write(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n")
            elif kind == "stalled":
                writer.write(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
            while time.monotonic() < deadline:
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                except asyncio.TimeoutError:
                    if kind == "trickle":
                        writer.write(b"{")
                        await writer.drain()
                    continue
                if not data:
                    stats["closed by server"] += 1
                    break
                if data.startswith(b"HTTP/1.1 "):
                    stats["status " + data[9:12].decode()] += 1
        except (ConnectionError, OSError):
            stats["closed by server"] += 1
        finally:
            writer.close()


async def main() -> None:
    host, port, n, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    deadline = time.monotonic() + seconds
    stats: collections.Counter = collections.Counter()
    kinds = ["trickle", "stalled", "idle"]
    await asyncio.gather(*(one(kinds[i % 3], host, port, deadline, stats) for i in range(n)))
    print("slow clients: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))


if __name__ == "__main__":
    asyncio.run(main())
