"""SMS transports: log (development), and later kannel and smpp."""
