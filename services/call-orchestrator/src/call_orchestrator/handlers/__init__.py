"""call-orchestrator's use cases, as plain async functions over the stores and LiveKit ports.

The outbound path: `idempotency.place_once` -> `outbound.place_outbound_call` (validate, look
up, record, dispatch) -> `connect.connect_call` (dial, record the answer or the failure).
"""
