"""What supervisors watch: closure and satisfaction rates, and which requests are rising.

* ``/reports/satisfaction``: 办结率, 按期办结率, 重办, 满意率 and the contact rate per unit or
  category (a unit reads its own row);
* ``/reports/trends``: this week's tickets per category, subcategory or area against the weeks
  before, the most unusual rise first.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from hotline.callbacks import reports
from hotline.classifier.taxonomy import Taxonomy
from hotline.errors import NotFound, ValidationFailed
from hotline.intake import trends as trend_report
from hotline.storage.models import Role
from hotline.storage.types import utcnow
from hotline.web.bodies import query_int
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff import _own_unit

#: names categories and subcategories in the reports
TAXONOMY = web.AppKey("reports_taxonomy", Taxonomy)
REPORTS = "/api/v1/staff/reports"


@require_roles(Role.SUPERVISOR, Role.UNIT)
async def satisfaction(request: web.Request) -> web.Response:
    """办结率 and 满意率 of the last ``days`` days, per unit or per category."""
    days = query_int(request, "days", 30, low=1, high=366)
    by = _choice(request, "by", ("unit", "category"))
    until = utcnow()
    async with request.app[DATABASE].read() as session:
        found = await reports.report(
            session,
            since=until - timedelta(days=days),
            until=until,
            by="unit" if by == "unit" else "category",
            unit_id=_own_unit(current_user(request)),
            category_name=lambda code: _taxonomy(request).category(code).name,
        )
    return json_response(
        {
            "days": days,
            "since": found.since.isoformat(),
            "until": found.until.isoformat(),
            "by": found.by,
            "rows": [row.to_dict() for row in found.rows],
            "total": found.total.to_dict(),
        }
    )


@require_roles(Role.SUPERVISOR, Role.AGENT)
async def trends(request: web.Request) -> web.Response:
    """Requests rising in the last ``days`` against the ``weeks`` windows before."""
    days = query_int(request, "days", 7, low=1, high=31)
    weeks = query_int(request, "weeks", 4, low=1, high=26)
    by = _choice(request, "by", ("category", "subcategory", "area"))
    taxonomy = _taxonomy(request)

    def name(code: str) -> str:
        if by == "area":
            return code
        node = taxonomy.category(code) if by == "category" else taxonomy.subcategory(code)
        return node.name

    async with request.app[DATABASE].read() as session:
        found = await trend_report.trends(
            session,
            now=utcnow(),
            by="category" if by == "category" else "subcategory" if by == "subcategory" else "area",
            days=days,
            weeks=weeks,
            name=name,
        )
    return json_response(
        {
            "days": days,
            "weeks": weeks,
            "by": by,
            "rising": [t.key for t in found if t.rising],
            "rows": [t.to_dict() for t in found],
        }
    )


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
    value = request.query.get(name, allowed[0])
    if value not in allowed:
        raise ValidationFailed(f"{name}: must be {' or '.join(allowed)}")
    return value


def _taxonomy(request: web.Request) -> Taxonomy:
    taxonomy = request.app.get(TAXONOMY)
    if taxonomy is None:
        raise NotFound("no taxonomy is loaded")
    return taxonomy


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{REPORTS}/satisfaction", satisfaction),
        web.get(f"{REPORTS}/trends", trends),
    ]
