"""Ingestion, the edge for alert senders: the group-commit writer thread and each endpoint's answers.
The formats themselves are parsed by the pure parsers in `inbound/`."""
