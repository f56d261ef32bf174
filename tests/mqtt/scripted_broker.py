"""A tiny scripted MQTT 'broker' on loopback for faults Mosquitto will not produce.

It answers CONNECT (CONNACK), SUBSCRIBE (SUBACK granting QoS 1, then writes ``burst`` in one
write) and PINGREQ, and counts the PUBLISH packets it reads. With ``paused`` it stops reading
after each read until ``reading`` is set: a stalled link. Crafting bytes is legitimate here;
the client under test is the real one (paho included).
"""

from __future__ import annotations

import asyncio
import socket

from nestpy_mqtt._codec import PacketReader, decode_publish


class ScriptedBroker:
    """One loopback listener; ``url`` once started."""

    def __init__(self, *, mqtt5: bool = False, burst: bytes = b"", paused: bool = False) -> None:
        self.mqtt5 = mqtt5
        self.burst = burst
        self.reading = asyncio.Event()
        if not paused:
            self.reading.set()
        self.publishes = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"mqtt://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> ScriptedBroker:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.reading.set()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        frames = PacketReader()
        props = b"\x00" if self.mqtt5 else b""
        try:
            while data := await reader.read(1 << 20):
                for packet in frames.feed(data):
                    if packet.type == 1:  # CONNECT
                        writer.write(b"\x20" + bytes((2 + len(props),)) + b"\x00\x00" + props)
                    elif packet.type == 3:  # PUBLISH
                        decode_publish(packet.first, packet.body, self.mqtt5)
                        self.publishes += 1
                    elif packet.type == 8:  # SUBSCRIBE: grant QoS 1, then the burst
                        mid = packet.body[:2]
                        writer.write(b"\x90" + bytes((3 + len(props),)) + mid + props + b"\x01")
                        writer.write(self.burst)
                    elif packet.type == 12:  # PINGREQ
                        writer.write(b"\xd0\x00")
                await writer.drain()
                await self.reading.wait()
        finally:
            writer.close()
