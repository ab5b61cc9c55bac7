"""Background work: the runner (a loop with a graceful stop) and one module per job (outbox...)."""
