"""The sandbox payment gateway: its own process serving the hosted pages and APIs real gateways
would (KNET's bank page and encrypted `trandata`, Tap's charges API, a wallet approval page), so
that development and tests exercise the real adapters. Never used in production."""
