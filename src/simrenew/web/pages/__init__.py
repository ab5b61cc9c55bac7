"""Server-rendered pages people see (the payment result page; self-care, store and care later)."""
