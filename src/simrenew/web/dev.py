"""Development helpers, mounted only when SIMRENEW_ENV=development: the SMS outbox viewer."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from simrenew.clock import to_kuwait
from simrenew.lines.rules import normalize_msisdn
from simrenew.notify.reports import list_sent_sms
from simrenew.web.deps import PlatformDep

# Out of the OpenAPI: these routes do not exist outside development.
router = APIRouter(prefix="/dev", include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>simrenew: SMS outbox</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .4rem; text-align: start; vertical-align: top; }}
</style></head>
<body>
<h1>SMS outbox (development)</h1>
<p>{count} message(s), newest first.</p>
<table>
<thead><tr><th>To</th><th>Created</th><th>State</th><th>Language</th><th>Text</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def _row(message: dict[str, Any]) -> str:
    direction = "rtl" if message["language"] == "ar" else "ltr"
    return (
        f"<tr><td>{escape(message['to'])}</td><td>{escape(message['created_at'])}</td>"
        f"<td>{escape(message['state'])}</td><td>{escape(message['language'])}</td>"
        f'<td dir="{direction}">{escape(message["text"])}</td></tr>'
    )


@router.get("/sms")
def show_sms(
    request: Request,
    platform: PlatformDep,
    to: Annotated[str | None, Query(description="Only messages to this number.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response:
    """Every SMS in the outbox, newest first: HTML, or JSON for `Accept: application/json`."""
    recipient = normalize_msisdn(to) if to else None
    messages = [
        {
            "to": m["to"],
            "text": m["text"],
            "language": m["language"],
            "created_at": to_kuwait(m["created_at"]).isoformat(),
            "state": m["state"],
            "template": m["template"],
        }
        for m in list_sent_sms(platform.uow(), to=recipient, limit=limit)
    ]
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(messages)
    rows = "\n".join(_row(m) for m in messages)
    return HTMLResponse(_PAGE.format(count=len(messages), rows=rows))
