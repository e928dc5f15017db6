"""The rating page (回访评价页) the signed link in an SMS or mail question opens; no login.

``GET /r/{token}`` shows the citizen's ticket number, its title with personal data masked, the
three ratings and a box for the reason. The form posts back to the same URL, the token again
in a hidden field, and the answer takes the path of a rating written in a message
(:meth:`~hotline.callbacks.service.Callbacks.rate_by_link`): 满意 closes the ticket, 不满意
reopens it, a question still held on another channel is withdrawn.

The token is the only authority. No cookie is set or read, so another site has nothing to ride
on (CSRF) without the token itself; a POST a browser marks as cross-site (``Sec-Fetch-Site``)
is refused all the same. Pages are never cached, send no referrer and cannot be framed.
Errors are pages in plain Chinese: 404 for any link we did not sign (not saying whether the
callback exists), 410 once expired, answered or ended, 400 for a form we cannot take, 413 for
an oversized one (nothing written), 503 while the database is down.
"""

from __future__ import annotations

import hmac
import logging
import unicodedata
from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import parse_qsl

from aiohttp import web

from hotline.callbacks import wording
from hotline.callbacks.links import PATH, RatingLinks, local_time
from hotline.errors import BadRequest, Forbidden, HotlineError, UnsupportedMediaType
from hotline.nlu.masking import mask_personal_data
from hotline.storage.db import is_unavailable
from hotline.storage.models import Rating
from hotline.web import rating_html
from hotline.web.bodies import read_limited
from hotline.web.callbacks_api import CALLBACKS

log = logging.getLogger(__name__)

LINKS = web.AppKey("rating_links", RatingLinks)
ROUTE = PATH + "{token}"
#: the reason's limit, the length of the column it is stored in
MAX_REASON = 1000
#: the form: the token, a rating and a reason of MAX_REASON characters (9 bytes each at most,
#: percent-encoded UTF-8), with room to spare
MAX_FORM_BYTES = 16_384
SUMMARY_CHARS = 80
_FIELDS = {"token": "链接", "rating": "评价", "reason": "原因"}
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
#: what a citizen reads for errors whose own message is for staff (or says too much)
_FIXED = {
    404: wording.LINK_INVALID,
    413: f"提交的内容过长，评价未保存。原因请控制在 {MAX_REASON} 字以内。",
    503: wording.PAGE_UNAVAILABLE,
}

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _pages(handler: Handler) -> Handler:
    """Every error as a page in Chinese, never a JSON body or a stack trace."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except HotlineError as e:
            if e.status >= 500:
                log.error("rating_page.error code=%s: %s", e.code, e.message, exc_info=e)
            text = _FIXED.get(e.status) or (e.message if e.status < 500 else wording.PAGE_FAILED)
            return _page(rating_html.message(text), status=e.status)
        except Exception as e:
            if is_unavailable(e):
                log.error("rating_page.database_unavailable: %s", e)
                return _page(rating_html.message(wording.PAGE_UNAVAILABLE), status=503)
            log.exception("rating_page.unhandled %s", request.method)
            return _page(rating_html.message(wording.PAGE_FAILED), status=500)

    return wrapped


@_pages
async def show(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    claim = request.app[LINKS].read(token)
    callbacks = request.app[CALLBACKS]
    asked = await callbacks.link_question(claim)
    summary = mask_personal_data(asked.title)
    if len(summary) > SUMMARY_CHARS:
        summary = summary[: SUMMARY_CHARS - 1] + "…"
    page = rating_html.form(
        token=token,
        number=asked.number,
        summary=summary,
        until=local_time(claim.expires_at, callbacks.settings.timezone),
        max_reason=MAX_REASON,
    )
    return _page(page)


@_pages
async def answer(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    claim = request.app[LINKS].read(token)
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise Forbidden("请在评价页面内提交评价。", code="cross_site")
    form = await _read_form(request)
    if not hmac.compare_digest(form.get("token", "").encode(), token.encode()):
        raise BadRequest("表单与链接不符，请重新打开链接后提交。", code="token_mismatch")
    rating, reason = _rating(form), _reason(form)
    outcome = await request.app[CALLBACKS].rate_by_link(claim, rating=rating, reason=reason)
    later = wording.LINK_REASON_LATER if outcome.ask_reason else ""
    return _page(rating_html.message(outcome.text, later))


async def _read_form(request: web.Request) -> dict[str, str]:
    """The fields of a urlencoded form, each at most once; nothing else is accepted."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("请在评价页面内提交评价（表单格式不对）。", code="bad_form")
    body = await read_limited(request, MAX_FORM_BYTES, "the rating form")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=10
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("表单内容无法读取，评价未保存。", code="bad_form") from e
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in _FIELDS and name in form:
            raise BadRequest(f"表单中的“{_FIELDS[name]}”出现了两次，评价未保存。", code="bad_form")
        form[name] = value
    return form


def _rating(form: dict[str, str]) -> Rating:
    raw = form.get("rating", "")
    if not raw:
        raise BadRequest("请选择“满意”“基本满意”或“不满意”后再提交。", code="rating_missing")
    try:
        return Rating(raw)
    except ValueError as e:
        raise BadRequest(
            "评价只能是“满意”“基本满意”或“不满意”之一，评价未保存。", code="unknown_rating"
        ) from e


def _reason(form: dict[str, str]) -> str | None:
    reason = form.get("reason", "").replace("\r\n", "\n").strip()
    if len(reason) > MAX_REASON:
        raise BadRequest(
            f"原因最多 {MAX_REASON} 字，您填写了 {len(reason)} 字。评价未保存，请删减后再提交。",
            code="reason_too_long",
        )
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in reason):
        raise BadRequest("原因中有无法保存的控制字符，评价未保存。", code="reason_unreadable")
    return reason or None


def _page(html: str, *, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=html, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


def routes() -> list[web.RouteDef]:
    return [web.get(ROUTE, show), web.post(ROUTE, answer)]
