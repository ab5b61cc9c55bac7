"""Channels over HTTP: the JSON API, pages, USSD; thin layers over the services."""
