"""nestpy: NestJS's module system and microservices, in Python."""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from nestpy.common.configurable_module import ConfigurableModuleBuilder
from nestpy.common.decorators import Controller, Global, Inject, Injectable, Module
from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.enhancers import (
    APP_FILTER,
    APP_GUARD,
    APP_INTERCEPTOR,
    APP_PIPE,
    Catch,
    SetMetadata,
    UseFilters,
    UseGuards,
    UseInterceptors,
    UsePipes,
)
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
from nestpy.common.tokens import INQUIRER, REQUEST, InjectionToken, forward_ref, token_name
from nestpy.core.application_context import NestApplicationContext
from nestpy.core.context_id import (
    AttachedContext,
    ContextId,
    ContextIdFactory,
    ContextIdStrategy,
    HostComponentInfo,
)
from nestpy.core.errors.exceptions import (
    CircularDependencyError,
    InvalidClassScopeError,
    InvalidModuleError,
    UnknownDependenciesError,
    UnknownElementError,
    UnknownExportError,
)
from nestpy.core.factory import NestFactory
from nestpy.core.lazy_loader import LazyModuleLoader
from nestpy.core.module_ref import ModuleRef
from nestpy.core.reflector import Reflector
from nestpy.errors import NestpyError

# The distribution that installs ``nestpy`` (the name ``nestpy`` on PyPI is another project).
_DISTRIBUTION = "nestpy-mqtt"

try:
    __version__ = _version(_DISTRIBUTION)
except _PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "APP_FILTER",
    "APP_GUARD",
    "APP_INTERCEPTOR",
    "APP_PIPE",
    "AttachedContext",
    "BeforeApplicationShutdown",
    "Catch",
    "CircularDependencyError",
    "ConfigurableModuleBuilder",
    "ContextId",
    "ContextIdFactory",
    "ContextIdStrategy",
    "Controller",
    "DynamicModule",
    "Global",
    "HostComponentInfo",
    "INQUIRER",
    "Inject",
    "Injectable",
    "InjectionToken",
    "InvalidClassScopeError",
    "InvalidModuleError",
    "LazyModuleLoader",
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
    "Reflector",
    "Scope",
    "SetMetadata",
    "ShutdownSignal",
    "UnknownDependenciesError",
    "UnknownElementError",
    "UnknownExportError",
    "UseFilters",
    "UseGuards",
    "UseInterceptors",
    "UsePipes",
    "forward_ref",
    "token_name",
]
