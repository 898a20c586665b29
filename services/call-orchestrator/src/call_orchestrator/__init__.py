"""call-orchestrator: outbound calls, call history, webhooks and recording."""
