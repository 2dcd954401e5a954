"""Escalation: policies (ordered levels of targets with delays), the per-alert escalation state
row with its policy snapshot and fence token, and the notification outbox it writes to."""
