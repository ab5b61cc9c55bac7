"""Payments: hosted-page payments for renewals, gateway callbacks, reconciliation and refunds."""
