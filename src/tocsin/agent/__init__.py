"""`tocsin agent`: runs synthetic checks where it is started and reports results to the server.

It needs no database: it fetches its location's checks over HTTPS with its own key
(`GET /api/v1/agent/checks`), probes them with the server's probe code (`tocsin.checks.probe`)
behind its own egress guard, and posts the results (`POST /api/v1/agent/results`), buffering them
in memory while the server cannot be reached.
"""
