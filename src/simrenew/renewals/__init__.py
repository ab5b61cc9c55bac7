"""Renewals: quote -> credit, the ledger, idempotency, network debits, receipts and the audit."""
