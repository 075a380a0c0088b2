"""Holds one WebSocket open to /ws/<room> and reports how the server closed it.

Prints READY once connected, then CLOSED <code> <reason> when the server
closes the connection (ringchat sends 1001 `draining; retry_ms=N` on
SIGTERM), or ERROR <what>.
Client: Python websockets (Debian python3-websockets). Port from E2E_PORT.
"""
import asyncio
import os
import sys

import websockets


async def main() -> None:
    uri = f"ws://127.0.0.1:{os.environ['E2E_PORT']}/ws/e2e-shutdown-watch"
    try:
        async with websockets.connect(uri, open_timeout=5, ping_interval=None) as ws:
            print("READY", flush=True)
            try:
                await asyncio.wait_for(ws.recv(), timeout=25)
                print("ERROR got a message instead of a close", flush=True)
            except websockets.exceptions.ConnectionClosed:
                print(f"CLOSED {ws.close_code} {ws.close_reason}", flush=True)
    except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
        print(f"ERROR {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
