"""Structured logs (structlog, JSON in production) and OpenTelemetry tracing.

Tracing is on when an exporter is configured through the standard variables
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; sampling through
`OTEL_TRACES_SAMPLER`); metrics likewise (`OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). Without one, no spans are recorded, which costs nothing; incoming W3C trace
context is still passed on to NATS and LiveKit calls, so a trace started upstream stays whole.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

# Keys whose values must never reach a log line, whatever a caller passes.
_SECRET_KEYS = frozenset(
    {"password", "sip_password", "secret", "token", "authorization", "api_key", "fernet_keys"}
)


# Libraries that log each call they make at info.
_PER_CALL_LOGGERS = ("httpx",)


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def _drop_color_message(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    # uvicorn passes an ANSI-coloured copy of its message as `extra`; the message is already there.
    event_dict.pop("color_message", None)
    return event_dict


def _add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and stdlib logging to stdout, one JSON object a line in production."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        _redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Libraries' stdlib records keep their `extra` fields (livekit-agents logs job ids so).
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_color_message, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    structlog.contextvars.bind_contextvars(service=service)
    # Access logs repeat what our own request spans and logs say.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every outgoing request at info ("HTTP Request: ..."): per-call detail, shown at debug.
    detail_level = logging.DEBUG if root.getEffectiveLevel() <= logging.DEBUG else logging.WARNING
    for name in _PER_CALL_LOGGERS:
        logging.getLogger(name).setLevel(detail_level)


def tracing_configured() -> bool:
    """Whether the environment names somewhere to send spans."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracing_enabled() -> bool:
    """Whether an SDK tracer provider is installed (spans are recorded somewhere)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Install a tracer provider for `service` when there is an exporter (OTLP or the one given)."""
    if exporter is None and not tracing_configured():
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    )
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def configure_metrics(service: str, reader: MetricReader | None = None) -> MeterProvider | None:
    """Install a meter provider for `service` when there is somewhere to send metrics (OTLP or
    the reader given); without one, counters cost nothing and go nowhere."""
    if reader is None:
        if not (
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        ):
            return None
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)}),
    )
    metrics.set_meter_provider(provider)
    return provider
