"""Staff and channel access: channel credentials, (later) staff users and roles, the audit log."""
