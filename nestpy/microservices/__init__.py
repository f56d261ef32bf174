"""Transport-agnostic microservices: patterns, handlers, clients and servers (Nest's
``@nestjs/microservices``)."""

from nestpy.common.tokens import REQUEST as CONTEXT
from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.clients_module import (
    AsyncClientOptions,
    ClientOptions,
    ClientProxyFactory,
    ClientsModule,
)
from nestpy.microservices.context import BaseRpcContext, RequestContext
from nestpy.microservices.decorators import Ctx, EventPattern, MessagePattern, Path, Payload
from nestpy.microservices.enhancers import (
    ArgumentsHost,
    CallHandler,
    CanActivate,
    Catch,
    ExceptionFilter,
    ExecutionContext,
    NestInterceptor,
    RpcArgumentsHost,
    SetMetadata,
    UseFilters,
    UseGuards,
    UseInterceptors,
    UsePipes,
)
from nestpy.microservices.exceptions import (
    ConnectionLostError,
    InvalidMessageError,
    RequestTimeoutError,
    RpcException,
)
from nestpy.microservices.microservice import NestMicroservice, create_microservice
from nestpy.microservices.observable import ObservableTransport
from nestpy.microservices.param_decorators import create_param_decorator
from nestpy.microservices.pipes import (
    ArgumentMetadata,
    DefaultValuePipe,
    ParseArrayPipe,
    ParseBoolPipe,
    ParseEnumPipe,
    ParseFloatPipe,
    ParseIntPipe,
    ParseUUIDPipe,
    PipeTransform,
    ValidationPipe,
)
from nestpy.microservices.requests import ResponseStream
from nestpy.microservices.server import Server
from nestpy.microservices.transports import Transport

__all__ = [
    "CONTEXT",
    "ArgumentMetadata",
    "ArgumentsHost",
    "AsyncClientOptions",
    "BaseRpcContext",
    "CallHandler",
    "CanActivate",
    "Catch",
    "ClientOptions",
    "ClientProxy",
    "ClientProxyFactory",
    "ClientsModule",
    "ConnectionLostError",
    "Ctx",
    "DefaultValuePipe",
    "EventPattern",
    "ExceptionFilter",
    "ExecutionContext",
    "InvalidMessageError",
    "MessagePattern",
    "NestInterceptor",
    "NestMicroservice",
    "ObservableTransport",
    "ParseArrayPipe",
    "ParseBoolPipe",
    "ParseEnumPipe",
    "ParseFloatPipe",
    "ParseIntPipe",
    "ParseUUIDPipe",
    "Path",
    "Payload",
    "PipeTransform",
    "RequestContext",
    "RequestTimeoutError",
    "ResponseStream",
    "RpcArgumentsHost",
    "RpcException",
    "Server",
    "SetMetadata",
    "Transport",
    "UseFilters",
    "UseGuards",
    "UseInterceptors",
    "UsePipes",
    "ValidationPipe",
    "create_microservice",
    "create_param_decorator",
]
