"""MQTT URLs: credentials split off before validation, ambiguous user-info refused, user-info
redacted wherever a URL is shown (paho-free)."""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["SCHEMES", "RejectedUrl", "redact_url", "split_credentials"]

SCHEMES = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883, "ws": 80, "wss": 443}


def redact_url(url: str) -> str:
    """``url`` with any user-info replaced by ``***`` (``mqtt://***@host:1883``), for messages.

    Everything up to the last ``@`` goes, so nothing of a password that holds an unencoded
    ``/``, ``?``, ``#`` or ``@`` is left either.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


_AUTHORITY_END = re.compile(r"[/?#]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ENCODE_HINT = (
    "a user name or password in a URL must percent-encode '/', '?', '#', '@', '[', ']' and "
    "'%', or what follows is read as the host, port or path. Encode each with "
    "urllib.parse.quote(password, safe='') (e.g. f\"mqtt://{quote(user, safe='')}:"
    "{quote(password, safe='')}@host:1883\"), or pass username= and password= "
    "(NESTPY_MQTT_USERNAME, NESTPY_MQTT_PASSWORD) instead; an '@' that belongs to the path "
    "is written %40"
)


class RejectedUrl(str):
    """A URL refused before field validation: its redacted text, with the reason why.

    Taking the place of the input, it keeps the secret out of ``ValidationError.errors()``.
    """

    __slots__ = ("reason",)
    reason: str

    def __new__(cls, url: str, reason: str) -> RejectedUrl:
        rejected = super().__new__(cls, redact_url(url))
        rejected.reason = reason
        return rejected


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user-info, user name, password)``, percent-decoded.

    Raises ``ValueError`` (with a redacted message) for a URL whose user-info is ambiguous: an
    ``@`` after the host (``mqtt://alice:1234/Sl4sh@host`` is not host ``alice``, port 1234),
    or an unencoded ``@``, ``[``, ``]`` or stray ``%`` in the user-info.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        if "@" in url:
            msg = (
                f"invalid MQTT URL {redact_url(url)!r}: no scheme (use one of "
                f"{', '.join(SCHEMES)}, e.g. mqtt://user:password@localhost:1883); {_ENCODE_HINT}"
            )
            raise ValueError(msg)
        return url, None, None
    end = _AUTHORITY_END.search(rest)
    authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    ambiguous = f"ambiguous MQTT URL {redact_url(url)!r}: {_ENCODE_HINT}"
    if "@" in tail:
        raise ValueError(ambiguous)
    if "@" not in authority:
        return url, None, None
    userinfo, _, host = authority.rpartition("@")
    if any(c in userinfo for c in "@[]") or _BAD_PERCENT.search(userinfo):
        raise ValueError(ambiguous)
    user, colon, password = userinfo.partition(":")
    return f"{scheme}://{host}{tail}", unquote(user) or None, unquote(password) if colon else None
