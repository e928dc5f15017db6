"""Due and warning times of a ticket from its subcategory and urgency (限时处置).

The policy, in one place:

* **critical** (the ticket's urgency, or a subcategory the taxonomy marks critical: gas leaks,
  live electrical hazards, emergency transfers): ``CRITICAL_HOURS`` *calendar* hours from
  creation. Such dangers do not wait for office hours; units keep an on-duty line (值班).
* **urgent** ticket: ``URGENT_WORKING_DAYS`` working day, or the taxonomy's deadline when shorter.
* **normal** ticket: the subcategory's ``deadline_days`` working days. A subcategory the taxonomy
  marks urgent already carries its shorter ``deadline_days``, so it is not tightened again.

Working days end at the office closing time of the N-th working day after the day work can start
(a ticket created after hours or on a holiday starts the next working morning). The warning comes
``min(1 working day, 25 % of the span)`` of office time before a working deadline, and 25 % of
the span before a calendar-hour deadline.

A working-day deadline that runs through a year whose holiday notice is not published yet is
counted on the provisional calendar and names those years in ``provisional_years``: it is an
estimate that may differ from the final one by a day or two **in either direction** (see
:mod:`hotline.routing.provisional`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hotline.classifier.taxonomy import Subcategory, Urgency
from hotline.errors import ValidationFailed
from hotline.routing.calendar import CHINA_TZ, WorkCalendar

CRITICAL_HOURS = 2
URGENT_WORKING_DAYS = 1
WARNING_SHARE = 0.25


@dataclass(frozen=True)
class Deadline:
    """When handling starts counting, when it is due and when to warn the unit."""

    start: dt.datetime
    due: dt.datetime
    warning: dt.datetime
    urgency: Urgency
    #: how the due time was counted, e.g. "5 个工作日" or "2 个自然小时（特急）"
    basis: str
    working_time: bool
    #: years counted on the provisional calendar (holiday notice not yet published)
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional_notice(self) -> str | None:
        """The sentence saying the deadline is an estimate, or None when it is final."""
        if not self.provisional_years:
            return None
        years = "、".join(str(y) for y in self.provisional_years)
        return f"{years}年放假安排尚未公布，时限按法定节假日暂估"


def parse_urgency(value: str | None) -> Urgency:
    """A ticket's urgency string as :class:`Urgency`; unknown or empty values read as normal."""
    try:
        return Urgency(value or Urgency.NORMAL)
    except ValueError as exc:
        raise ValidationFailed(
            f"urgency: unknown urgency {value!r}: use normal, urgent or critical"
        ) from exc


class DeadlinePolicy:
    """Computes :class:`Deadline` values on a working calendar."""

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar

    def effective_urgency(self, subcategory: Subcategory, ticket_urgency: Urgency) -> Urgency:
        """The ticket's urgency, raised to critical when the subcategory itself is critical."""
        if subcategory.urgency is Urgency.CRITICAL:
            return Urgency.CRITICAL
        return ticket_urgency

    def deadline(
        self, subcategory: Subcategory, ticket_urgency: Urgency, created: dt.datetime
    ) -> Deadline:
        """The deadline of a ticket in ``subcategory`` created at ``created`` (aware)."""
        if created.tzinfo is None:
            raise ValueError("naive creation time given to the deadline policy")
        urgency = self.effective_urgency(subcategory, ticket_urgency)
        if urgency is Urgency.CRITICAL:
            return self._calendar_hours(created, urgency)
        days = subcategory.deadline_days
        if urgency is Urgency.URGENT:
            days = min(days, URGENT_WORKING_DAYS)
        start = self.calendar.working_start(created)
        due = self.calendar.add_working_days(start, days)
        label = "（加急）" if urgency is Urgency.URGENT else ""
        # from the creation day: finding the start already consulted the calendar
        provisional = self.calendar.provisional_years(
            created.astimezone(CHINA_TZ).date(), due.date()
        )
        return Deadline(
            start,
            due,
            self.warning_at(start, due),
            urgency,
            f"{days} 个工作日{label}",
            True,
            provisional,
        )

    def _calendar_hours(self, created: dt.datetime, urgency: Urgency) -> Deadline:
        start = created.astimezone(CHINA_TZ)
        due = start + dt.timedelta(hours=CRITICAL_HOURS)
        warning = due - (due - start) * WARNING_SHARE
        return Deadline(start, due, warning, urgency, f"{CRITICAL_HOURS} 个自然小时（特急）", False)

    def warning_at(self, start: dt.datetime, due: dt.datetime) -> dt.datetime:
        """When to warn about a working-time deadline: min(1 working day, 25 % of span) before."""
        span = self.calendar.working_minutes_between(start, due)
        lead = min(float(self.calendar.office.minutes), span * WARNING_SHARE)
        return self.calendar.add_working_minutes(start, span - lead)
