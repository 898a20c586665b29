"""Shared code for the TalkifAI telephony services.

Settings, the CloudEvents envelope and event contracts, auth, secrets, E.164 numbers, database and bus
helpers, HTTP conventions and telemetry. A library only: no entrypoint lives here.
"""
