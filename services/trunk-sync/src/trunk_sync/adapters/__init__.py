"""Adapters: LiveKit, numbers-api, NATS."""
