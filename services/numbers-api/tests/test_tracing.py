"""A trace started by the caller continues through the API, the outbox and NATS."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.numbers_api import Api, BusRecorder

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_callers_trace_reaches_the_published_event(
    api: Api, bus: BusRecorder, spans: InMemorySpanExporter
) -> None:
    await api.request(
        "POST",
        "/agents",
        json={"name": "Traced", "architecture": "pipeline"},
        headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"},
    )
    await bus.wait_for(1)
    traceparent = bus.messages[0].headers["traceparent"]
    assert traceparent.split("-")[1] == TRACE_ID
    traced = [
        s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == TRACE_ID
    ]
    kinds = {s.kind.name for s in traced}
    assert "SERVER" in kinds  # the HTTP request
    assert "PRODUCER" in kinds  # the relay's publish to JetStream, in the same trace
