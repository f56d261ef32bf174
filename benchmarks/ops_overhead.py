"""The per-message cost of metrics and tracing: the in-memory request/reply and event rows of
``benchmarks.in_memory`` (client and service in one process, no broker) with each turned on,
interleaved with runs without, so that the machine's drift hits every variant alike.

Run::

    python -m benchmarks.ops_overhead --n 20000 --repeat 3

Prints one JSON line per run (``variant``: base, metrics, tracing, both, and tracing-1pct:
tracing with 1% of the traces sampled) and a last line with
the median CPU per message of each variant and its overhead over ``base``, per row.
``benchmarks.mqtt --metrics/--tracing`` gives the same over a real broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.in_memory import main_async

VARIANTS = ("base", "metrics", "tracing", "both", "tracing-1pct")


def switch_on(variant: str) -> Callable[[], None]:
    """Instrument for ``variant``; returns the function that undoes it."""
    undo: list[Callable[[], None]] = []
    if variant in ("metrics", "both"):
        from prometheus_client import CollectorRegistry

        from nestpy.ops import NestpyMetrics

        metrics = NestpyMetrics(CollectorRegistry()).instrument()
        undo.append(metrics.uninstrument)
    if variant.startswith("tracing") or variant == "both":
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

        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        ratio = 0.01 if variant == "tracing-1pct" else 1.0
        provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(ratio)))
        provider.add_span_processor(BatchSpanProcessor(DropExporter()))
        NestpyInstrumentor().instrument(tracer_provider=provider)
        undo.append(NestpyInstrumentor().uninstrument)
        undo.append(provider.shutdown)
    return lambda: [f() for f in undo] and None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    cpu: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for variant in variants:
            undo = switch_on(variant)
            try:
                rows = asyncio.run(main_async(args.n))
            finally:
                undo()
            for row in rows:
                key = f"{row['mode']}-{row['concurrency']}"
                cpu.setdefault((variant, key), []).append(row["cpu_us"])
                print(json.dumps({"variant": variant, **row}), flush=True)
    summary: dict[str, Any] = {}
    for (variant, key), values in cpu.items():
        median = statistics.median(values)
        base = statistics.median(cpu[("base", key)]) if ("base", key) in cpu else None
        entry = {"cpu_us": round(median, 2)}
        if base and variant != "base":
            entry["overhead_us"] = round(median - base, 2)
            entry["overhead_pct"] = round((median - base) / base * 100, 1)
        summary.setdefault(key, {})[variant] = entry
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
