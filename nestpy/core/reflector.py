"""``Reflector``: read ``SetMetadata`` / ``Reflector.create_decorator`` metadata in enhancers.

Injectable in every module, as in Nest::

    Roles = Reflector.create_decorator()            # Roles(["admin"]) decorates a handler

    @Injectable()
    class RolesGuard:
        def __init__(self, reflector: Reflector) -> None:
            self.reflector = reflector

        def can_activate(self, context: ExecutionContext) -> bool:
            roles = self.reflector.get_all_and_override(
                Roles, [context.get_handler(), context.get_class()]
            )
            return not roles or context.switch_to_rpc().get_data().get("role") in roles
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from nestpy.common.enhancers import SetMetadata, get_metadata

T = TypeVar("T")
V = TypeVar("V")


class ReflectableDecorator(Generic[V]):
    """What ``Reflector.create_decorator()`` returns: call it with a value to decorate.

    It is also the key to read that value back: ``reflector.get(Roles, handler)``.
    """

    __slots__ = ("key", "transform")

    def __init__(self, key: Any, transform: Callable[[Any], V] | None) -> None:
        self.key = key
        self.transform = transform

    def __call__(self, value: Any = None) -> Callable[[T], T]:
        """A decorator storing ``value`` (through ``transform``) on a handler or controller."""
        stored = self.transform(value) if self.transform is not None else value
        return SetMetadata(self.key, stored)

    def __repr__(self) -> str:
        return f"<decorator {self.key!r}>"


def _key(key: Any) -> Any:
    return key.key if isinstance(key, ReflectableDecorator) else key


class Reflector:
    """Reads metadata set on controllers and handlers (``SetMetadata``, created decorators)."""

    @staticmethod
    def create_decorator(
        key: Any = None, *, transform: Callable[[Any], V] | None = None
    ) -> ReflectableDecorator[V]:
        """A decorator that stores its argument (through ``transform``) under a fresh key."""
        return ReflectableDecorator(key if key is not None else object(), transform)

    def get(self, key: Any, target: Any) -> Any:
        """The value of ``key`` on ``target`` (a handler function or a controller), or None."""
        return get_metadata(_key(key), target)

    def get_all(self, key: Any, targets: Iterable[Any]) -> list[Any]:
        """The value of ``key`` on each target, in order (None where absent)."""
        return [get_metadata(_key(key), target) for target in targets]

    def get_all_and_override(self, key: Any, targets: Iterable[Any]) -> Any:
        """The first value found: the handler's overrides the controller's."""
        for target in targets:
            value = get_metadata(_key(key), target)
            if value is not None:
                return value
        return None

    def get_all_and_merge(self, key: Any, targets: Iterable[Any]) -> Any:
        """Lists concatenated, dicts merged (later keys win), other values listed (Nest's rules)."""
        values = [v for v in self.get_all(key, targets) if v is not None]
        if not values:
            return None
        if all(isinstance(v, list | tuple) for v in values):
            return [item for v in values for item in v]
        if all(isinstance(v, Mapping) for v in values):
            merged: dict[Any, Any] = {}
            for v in values:
                merged.update(v)
            return merged
        if len(values) == 1:
            return values[0]
        return [item for v in values for item in (v if isinstance(v, list | tuple) else [v])]
