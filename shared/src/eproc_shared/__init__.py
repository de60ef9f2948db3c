"""Shared library of the open e-procurement platform.

Everything that two services need lives here, so that each service does it one way:
the event envelope and catalogue, the transactional outbox and idempotent consumer,
broker and database helpers, settings, telemetry and HTTP conventions.
"""
