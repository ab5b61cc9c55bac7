"""The payer's pages around a gateway: the way to its hosted page and the result page.

`/pay/{ref}` is the address given to channels (its last segment is the payment reference): it
forwards to the gateway's page while the payment is open. The gateway sends the browser back to
`/payments/{ref}/return`, which shows the result and, while it is still unknown, asks
`/payments/{ref}/status` every second (that request makes simrenew ask the gateway when no
callback has come), so the payer never has to refresh.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from simrenew.money import format_fils
from simrenew.payments.service import checkout_url, payment_status
from simrenew.web.deps import PlatformDep, parse_accept_language

router = APIRouter(include_in_schema=False)

_REF = Path(min_length=1, max_length=40)

# Texts of the result page by language: title, then one line per state.
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Payment result",
        "waiting": "Waiting for the payment result…",
        "credited": "Payment received. Your line is renewed.",
        "failed": "The payment did not go through. Nothing was credited.",
        "refunded": "The payment was refunded.",
        "receipt": "Receipt",
        "balance": "New balance",
        "valid_until": "Valid until",
        "paid": "Paid",
        "reason": "Reason",
        "unknown": "No such payment.",
        "rejected": "The payment could not be confirmed. If money was taken it will be refunded.",
    },
    "ar": {
        "title": "نتيجة الدفع",
        "waiting": "بانتظار نتيجة الدفع…",
        "credited": "تم استلام الدفعة وتجديد خطك.",
        "failed": "لم تتم عملية الدفع، ولم يُضف أي رصيد.",
        "refunded": "أُعيد مبلغ الدفعة.",
        "receipt": "الإيصال",
        "balance": "الرصيد الجديد",
        "valid_until": "صالح حتى",
        "paid": "المدفوع",
        "reason": "السبب",
        "unknown": "لا توجد دفعة بهذا المرجع.",
        "rejected": "تعذّر تأكيد الدفع. إن خُصم مبلغ فسيُعاد إليك.",
    },
    "zh": {
        "title": "支付结果",
        "waiting": "正在等待支付结果…",
        "credited": "已收到付款，您的号码已续费。",
        "failed": "支付未成功，未充值任何金额。",
        "refunded": "该笔付款已退回。",
        "receipt": "收据号",
        "balance": "新余额",
        "valid_until": "有效期至",
        "paid": "已付",
        "reason": "原因",
        "unknown": "没有该笔付款。",
        "rejected": "无法确认该笔付款。如已扣款，将退回给您。",
    },
}

_PAGE = """<!doctype html>
<html lang="{lang}" dir="{dir}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1d2733; }}
main {{ max-width: 28rem; margin: 2rem auto; background: #fff; padding: 1.5rem;
  border-radius: .75rem; box-shadow: 0 1px 4px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.3rem; margin-top: 0; }}
.state {{ font-size: 1.1rem; padding: .8rem; border-radius: .5rem; background: #eef2f6; }}
.state[data-state=credited] {{ background: #e3f6e8; }}
.state[data-state=failed], .state[data-state=refunded] {{ background: #fdecea; }}
dl {{ display: grid; grid-template-columns: auto 1fr; gap: .4rem 1rem; }}
dt {{ color: #5a6673; }} dd {{ margin: 0; font-weight: 600; }}
</style></head>
<body><main>
<h1>{title}</h1>
<p class="state" id="state" role="status" aria-live="polite" data-state="{state}">{message}</p>
<dl id="details">{details}</dl>
</main>
<script>
const statusUrl = {status_url!r};
const finished = {finished};
async function poll() {{
  if (finished) return;
  try {{
    const answer = await fetch(statusUrl, {{headers: {{"Accept": "application/json"}}}});
    if (answer.ok) {{
      const body = await answer.json();
      if (body.page_state !== "waiting") {{ location.reload(); return; }}
    }}
  }} catch (e) {{}}
  setTimeout(poll, 1000);
}}
setTimeout(poll, 1000);
</script>
</body></html>
"""


def _language(request: Request, preferred: str) -> str:
    asked = request.query_params.get("lang")
    if asked in _TEXT:
        return asked
    return parse_accept_language(request.headers.get("accept-language", "")) or preferred


def page_state(status: dict[str, Any]) -> str:
    """waiting | credited | failed | refunded: what the payer is told."""
    renewal_state = status["renewal"]["state"]
    if renewal_state == "credited":
        return "credited"
    if status["state"] == "refunded" or renewal_state == "refunded":
        return "refunded"
    if renewal_state == "failed":
        return "failed"
    return "waiting"


def _details(status: dict[str, Any], text: dict[str, str], language: str) -> str:
    renewal = status["renewal"]
    rows = [(text["paid"], format_fils(status["amount_fils"], language))]
    if renewal["state"] == "credited":
        rows += [
            (text["receipt"], renewal["receipt_no"]),
            (text["balance"], format_fils(renewal["balance_fils"], language)),
            (text["valid_until"], renewal["valid_until"][:16].replace("T", " ")),
        ]
    elif status["reason"]:
        rows.append((text["reason"], status["reason"]))
    return "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)


def _render(
    request: Request, status: dict[str, Any] | None, ref: str, message_key: str = ""
) -> HTMLResponse:
    language = _language(request, status["language"] if status else "en")
    text = _TEXT[language]
    state = page_state(status) if status else "failed"
    html = _PAGE.format(
        lang=language,
        dir="rtl" if language == "ar" else "ltr",
        title=escape(text["title"]),
        state=state,
        message=escape(text[message_key or state]),
        details=_details(status, text, language) if status else "",
        status_url=f"/payments/{ref}/status",
        finished="true" if state != "waiting" else "false",
    )
    return HTMLResponse(html, status_code=200 if status or message_key else 404)


@router.get("/pay/{payment_ref}")
def pay(platform: PlatformDep, payment_ref: Annotated[str, _REF]) -> Response:
    """Send the payer to the gateway's page, or to the result once the payment is done."""
    target = checkout_url(platform.uow(), payment_ref, clock=platform.clock)
    return RedirectResponse(target or f"/payments/{payment_ref}/return", status_code=303)


@router.api_route("/payments/{payment_ref}/return", methods=["GET", "POST"])
def payment_return(
    platform: PlatformDep, request: Request, payment_ref: Annotated[str, _REF]
) -> HTMLResponse:
    """The result page the gateway sends the browser back to (GET or an auto-posted form)."""
    status = payment_status(
        platform.uow(), platform.payments, payment_ref, browser_returned=True, clock=platform.clock
    )
    return _render(request, status, payment_ref)


@router.get("/payments/{payment_ref}/status")
def payment_status_json(platform: PlatformDep, payment_ref: Annotated[str, _REF]) -> dict[str, Any]:
    """The result page's poll: the payment, its renewal, and what the payer is told."""
    status = payment_status(
        platform.uow(), platform.payments, payment_ref, browser_returned=True, clock=platform.clock
    )
    return {**status, "page_state": page_state(status)}


@router.get("/payments/failed")
def payment_failed(request: Request) -> HTMLResponse:
    """Where KNET sends a browser whose payment notice did not verify."""
    return _render(request, None, "", message_key="rejected")
