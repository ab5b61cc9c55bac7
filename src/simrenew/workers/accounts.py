"""The accounts job: remove subscriber sessions and one-time codes that ended, every hour."""

from __future__ import annotations

from simrenew.accounts.service import purge_ended_sessions_and_codes
from simrenew.bootstrap import Platform

EVERY_SECONDS = 3600.0


def purge_ended_credentials(platform: Platform) -> int:
    """One purge at the platform clock's now; return how many rows went."""
    return purge_ended_sessions_and_codes(platform.uow(), clock=platform.clock)
