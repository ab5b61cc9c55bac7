"""The sweep job: record due lifecycle transitions and queue due reminders, every minute."""

from __future__ import annotations

from simrenew.bootstrap import Platform
from simrenew.lines.sweep import sweep_lifecycle

# Often enough that a notice follows its transition within a minute; the sweep reads only lines
# with something due, so a pass with nothing to do costs one indexed query per batch.
EVERY_SECONDS = 60.0


def sweep_due_lines(platform: Platform) -> int:
    """One lifecycle sweep at the platform clock's now; return transitions plus SMS queued."""
    summary = sweep_lifecycle(
        platform,
        now=platform.clock.now(),
        batch_size=platform.settings.sweep_batch_size,
    )
    return summary.changes
