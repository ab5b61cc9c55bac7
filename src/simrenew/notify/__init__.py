"""Notifications: the outbox, message templates, reminder rules and SMS transports."""
