"""Operations switched on in a benchmark process: Prometheus metrics (``--metrics``, with the
health/metrics HTTP server running as in production) and OpenTelemetry tracing
(``--tracing``: the SDK with a batch processor and an exporter that drops the spans)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="Prometheus metrics on, in the service (health port) and the client",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="OpenTelemetry spans (SDK, batch processor, spans dropped) in service and client",
    )


def service_flags(args: argparse.Namespace) -> list[str]:
    return [flag for flag, on in (("--metrics", args.metrics), ("--tracing", args.tracing)) if on]


def service_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``create_microservice`` keywords: the health port (and so the metrics) when on."""
    return {"health_port": 0, "health_host": "127.0.0.1"} if args.metrics else {}


def enable_in_process(args: argparse.Namespace, *, client: bool) -> None:
    """Instrument this process (the client side: metrics by hand; tracing on both)."""
    if args.metrics and client:
        from prometheus_client import CollectorRegistry

        from nestpy.ops import metrics_for

        metrics_for(CollectorRegistry()).instrument()
    if args.tracing:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        from nestpy.otel import NestpyInstrumentor

        class DropExporter(SpanExporter):
            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(DropExporter()))
        NestpyInstrumentor().instrument(tracer_provider=provider)


def labels(args: argparse.Namespace) -> dict[str, Any]:
    """Extra keys of the result line."""
    out: dict[str, Any] = {}
    if args.metrics:
        out["metrics"] = True
    if args.tracing:
        out["tracing"] = True
    return out
