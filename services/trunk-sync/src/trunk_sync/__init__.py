"""trunk-sync: keeps LiveKit SIP trunks and dispatch rules in step with the phone numbers."""
