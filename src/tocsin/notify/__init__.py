"""Notification delivery: providers that hand one message to one destination.

Providers are pure of the database: the engine reads an outbox row, builds a `Message`,
calls `Provider.send` outside any transaction and records the `Result` it gets back.
"""
