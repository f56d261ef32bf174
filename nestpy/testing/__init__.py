"""Testing utilities: testing modules with overrides, in-memory transport, pytest fixtures."""

from nestpy.testing.test import Test, TestingModuleBuilder
from nestpy.testing.testing_module import TestingModule

__all__ = ["Test", "TestingModule", "TestingModuleBuilder"]
