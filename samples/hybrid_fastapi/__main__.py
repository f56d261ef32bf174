"""``python -m samples.hybrid_fastapi``: serve the hybrid app with uvicorn on 127.0.0.1:8000
(``--port``) until Ctrl-C; ``--tour`` starts it on a free port, calls both sides, and exits."""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx
import uvicorn

from nestpy.microservices import ClientProxyFactory, Transport
from nestpy_mqtt import MqttOptions
from nestpy_mqtt.testing import free_port
from samples.hybrid_fastapi.app import create_app


async def tour(port: int) -> int:
    options = MqttOptions()
    server = uvicorn.Server(uvicorn.Config(create_app(options), port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            return 1
        await asyncio.sleep(0.01)
    print(f"hybrid: FastAPI on http://127.0.0.1:{port}, MQTT microservice on {options.url}")
    client = ClientProxyFactory.create(transport=Transport.MQTT, options=options)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            ready = (await http.get("/ops/readyz")).json()
            print(f"GET  /ops/readyz          -> {ready['status']} {sorted(ready['details'])}")
            posted = (await http.post("/visits", json={"page": "home"})).json()
            print(f"POST /visits home         -> {posted}")
            await client.emit("visits/recorded", {"page": "home"})
            count = await client.send("visits/count", "home", timeout=10)
            print(f"MQTT visits/count home    -> {count}")
            seen = (await http.get("/visits/home")).json()
            print(f"GET  /visits/home         -> {seen}")
    finally:
        await client.close()
        server.should_exit = True
        await serving
    ok = count == 2 and seen == {"home": 2} and ready["status"] == "ok"
    print("hybrid: HTTP and MQTT share one VisitCounter" if ok else "hybrid: FAILED")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m samples.hybrid_fastapi")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--tour", action="store_true", help="call both sides once, then exit")
    args = parser.parse_args()
    if args.tour:
        sys.exit(asyncio.run(tour(free_port())))
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
