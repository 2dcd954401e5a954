"""Fake third-party services that speak the real wire formats, for tests."""
