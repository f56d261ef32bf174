"""nestpy: NestJS's module system and microservices, in Python."""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from nestpy.common.configurable_module import ConfigurableModuleBuilder
from nestpy.common.decorators import Controller, Global, Inject, Injectable, Module
from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.lifecycle import (
    BeforeApplicationShutdown,
    OnApplicationBootstrap,
    OnApplicationShutdown,
    OnModuleDestroy,
    OnModuleInit,
)
from nestpy.common.providers import Provider
from nestpy.common.scopes import Scope
from nestpy.common.shutdown_signal import ShutdownSignal
from nestpy.common.tokens import REQUEST, InjectionToken, forward_ref, token_name
from nestpy.core.application_context import NestApplicationContext
from nestpy.core.errors.exceptions import (
    CircularDependencyError,
    InvalidClassScopeError,
    InvalidModuleError,
    UnknownDependenciesError,
    UnknownElementError,
    UnknownExportError,
)
from nestpy.core.factory import NestFactory
from nestpy.core.module_ref import ModuleRef
from nestpy.errors import NestpyError

# The distribution that installs ``nestpy`` (the name ``nestpy`` on PyPI is another project).
_DISTRIBUTION = "nestpy-mqtt"

try:
    __version__ = _version(_DISTRIBUTION)
except _PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BeforeApplicationShutdown",
    "CircularDependencyError",
    "ConfigurableModuleBuilder",
    "Controller",
    "DynamicModule",
    "Global",
    "Inject",
    "Injectable",
    "InjectionToken",
    "InvalidClassScopeError",
    "InvalidModuleError",
    "Module",
    "ModuleRef",
    "NestApplicationContext",
    "NestFactory",
    "NestpyError",
    "OnApplicationBootstrap",
    "OnApplicationShutdown",
    "OnModuleDestroy",
    "OnModuleInit",
    "Provider",
    "REQUEST",
    "Scope",
    "ShutdownSignal",
    "UnknownDependenciesError",
    "UnknownElementError",
    "UnknownExportError",
    "forward_ref",
    "token_name",
]
