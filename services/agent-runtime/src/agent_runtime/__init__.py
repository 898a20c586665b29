"""agent-runtime: the livekit-agents worker that runs TalkifAI voice agents on calls."""
