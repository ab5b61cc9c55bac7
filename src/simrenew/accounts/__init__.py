"""Subscriber accounts: sign-up and sessions, lines bound by SMS code, and renewing them online.

`service` holds the account use cases and re-exports those of `binding` (bind, unbind, bound
lines) and `recharge` (offers, quotes, renewals and receipts of bound lines).
"""
