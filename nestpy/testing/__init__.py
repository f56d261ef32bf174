"""Testing utilities: testing modules with overrides, in-memory transport, pytest fixtures.

The pytest fixtures live in ``nestpy.testing.pytest_plugin``, which pytest loads by itself
(``pytest11`` entry point); importing ``nestpy.testing`` does not import pytest.
"""

from nestpy.testing.in_memory import (
    InMemoryBroker,
    InMemoryClient,
    InMemoryContext,
    InMemoryOptions,
    InMemoryPacket,
    InMemoryServer,
)
from nestpy.testing.test import Test, TestingModuleBuilder
from nestpy.testing.testing_module import TestingModule

__all__ = [
    "InMemoryBroker",
    "InMemoryClient",
    "InMemoryContext",
    "InMemoryOptions",
    "InMemoryPacket",
    "InMemoryServer",
    "Test",
    "TestingModule",
    "TestingModuleBuilder",
]
