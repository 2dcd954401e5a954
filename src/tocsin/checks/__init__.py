"""Synthetic checks: HTTP(S) and TCP probes run by the engine, results kept for uptime and latency."""
