"""Integrations: the per-service keys that inbound tools authenticate with."""
