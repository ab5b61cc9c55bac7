"""SMS transports: log (development), kannel (Kannel's HTTP sendsms), smpp (a direct SMPP bind).

`factory.build_transport(settings)` builds the one SIMRENEW_SMS_TRANSPORT names.
"""
