"""Classes for test_injection: postponed annotations and names defined after their users."""

from __future__ import annotations

from typing import Annotated

from nestpy import Inject, Injectable, Module, Provider


@Injectable()
class Consumer:
    def __init__(
        self,
        later: DefinedLater,
        url: Annotated[str, Inject("URL")],
        cache: Annotated[NotDefinedAnywhere | None, Inject("CACHE")] = None,  # noqa: F821
    ) -> None:
        self.later = later
        self.url = url
        self.cache = cache


@Injectable()
class DefinedLater:
    pass


@Injectable()
class Broken:
    def __init__(self, thing: Missing) -> None:  # type: ignore[name-defined]  # noqa: F821
        self.thing = thing


@Module(providers=[Consumer, DefinedLater, Provider("URL", use_value="sqlite://")])
class FutureModule:
    pass


@Module(providers=[Broken])
class BrokenModule:
    pass
