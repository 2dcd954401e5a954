"""Inbound formats: each module turns one tool's payload into normalized `Event`s."""
