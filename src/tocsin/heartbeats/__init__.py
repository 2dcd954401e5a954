"""Heartbeat monitors: a job pings; a missed ping opens an alert and the next ping resolves it."""
