"""``PrivateMosquitto``: the project's test broker, logging every packet it receives.

A sniffing client sees PUBLISHes only; the broker log also shows each client's SUBSCRIBE and
UNSUBSCRIBE, which :meth:`PrivateMosquitto.client_packets` parses.
"""

from __future__ import annotations

import re

from nestpy_mqtt.testing.broker import MosquittoBroker

_LOG_RECEIVED = re.compile(r"^[\d:]+: Received (SUBSCRIBE|UNSUBSCRIBE|PUBLISH) from (\S+)(.*)$")
_LOG_PUBLISH = re.compile(r"^ \(d\d, q(\d), r\d, m\d+, '(.*)', \.\.\. \(\d+ bytes\)\)$")
_LOG_TOPIC = re.compile(r"^[\d:]+: \t(.*?)(?: \(QoS (\d)\))?$")


class PrivateMosquitto(MosquittoBroker):
    """The project's test broker with every log type on, so that tests can check the
    SUBSCRIBE/UNSUBSCRIBE traffic (which a sniffing client cannot see) in its log."""

    def __init__(self) -> None:
        super().__init__(extra_config=["log_type all"])

    def client_packets(self, client_id: str) -> list[tuple[str, str, int | None]]:
        """What the broker received from ``client_id``, in order, from its log.

        One ``(kind, topic, qos)`` per PUBLISH and per topic of a SUBSCRIBE / UNSUBSCRIBE
        (``qos`` is None for UNSUBSCRIBE).
        """
        packets: list[tuple[str, str, int | None]] = []
        current: str | None = None
        for line in self.log().splitlines():
            received = _LOG_RECEIVED.match(line)
            if received:
                kind, sender, rest = received.groups()
                current = None
                if sender != client_id:
                    continue
                if kind == "PUBLISH":
                    publish = _LOG_PUBLISH.match(rest)
                    if publish:
                        packets.append(("PUBLISH", publish.group(2), int(publish.group(1))))
                else:
                    current = kind
                continue
            topic = _LOG_TOPIC.match(line)
            if current and topic:
                qos = topic.group(2)
                packets.append((current, topic.group(1), int(qos) if qos is not None else None))
            else:
                current = None
        return packets
