"""AsyncAPI 3.0 documents of nestpy services (``nestpy asyncapi module:AppModule``)."""

from nestpy.asyncapi.document import ASYNCAPI_VERSION, asyncapi_document, module_controllers

__all__ = ["ASYNCAPI_VERSION", "asyncapi_document", "module_controllers"]
