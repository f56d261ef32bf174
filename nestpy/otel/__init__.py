"""OpenTelemetry tracing for nestpy (``pip install nestpy-mqtt[otel]``).

``NestpyInstrumentor().instrument(tracer_provider=...)`` traces every client ``send``/``emit``
(PRODUCER spans) and every handler call (CONSUMER spans) with the messaging semantic
conventions; with MQTT 5 the W3C ``traceparent`` travels in the message's user properties, so
a request and its handler share one trace (MQTT 3.1.1 has no properties: spans, no link).
"""

from nestpy.otel.instrumentor import NestpyInstrumentor

__all__ = ["NestpyInstrumentor"]
