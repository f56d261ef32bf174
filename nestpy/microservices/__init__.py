"""Transport-agnostic microservices: patterns, handlers, clients and servers (Nest's
``@nestjs/microservices``)."""

from nestpy.common.tokens import REQUEST as CONTEXT
from nestpy.microservices.client_proxy import ClientProxy, ResponseStream
from nestpy.microservices.clients_module import (
    AsyncClientOptions,
    ClientOptions,
    ClientProxyFactory,
    ClientsModule,
)
from nestpy.microservices.context import BaseRpcContext, RequestContext
from nestpy.microservices.decorators import Ctx, EventPattern, MessagePattern, Payload
from nestpy.microservices.enhancers import (
    CallHandler,
    CanActivate,
    Catch,
    ExceptionFilter,
    ExecutionContext,
    NestInterceptor,
    UseFilters,
    UseGuards,
    UseInterceptors,
)
from nestpy.microservices.exceptions import (
    ConnectionLostError,
    InvalidMessageError,
    RequestTimeoutError,
    RpcException,
)
from nestpy.microservices.microservice import NestMicroservice, create_microservice
from nestpy.microservices.server import Server
from nestpy.microservices.transports import Transport

__all__ = [
    "CONTEXT",
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
    "EventPattern",
    "ExceptionFilter",
    "ExecutionContext",
    "InvalidMessageError",
    "MessagePattern",
    "NestInterceptor",
    "NestMicroservice",
    "Payload",
    "RequestContext",
    "RequestTimeoutError",
    "ResponseStream",
    "RpcException",
    "Server",
    "Transport",
    "UseFilters",
    "UseGuards",
    "UseInterceptors",
    "create_microservice",
]
