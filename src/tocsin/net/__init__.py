"""Outbound network access: the one HTTP client, behind an SSRF guard."""
