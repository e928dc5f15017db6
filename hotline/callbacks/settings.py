"""How and when satisfaction callbacks (回访) are made: the ``callbacks`` config, typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CallbackSettings:
    #: how long after the resolution (办结) the citizen is first asked
    delay: timedelta = timedelta(hours=1)
    #: citizens are asked (called, messaged) only from ``first_hour`` to ``last_hour`` local time
    first_hour: int = 9
    last_hour: int = 20
    timezone: str = "Asia/Shanghai"
    #: a question asked by message waits this long for the answer
    answer_window: timedelta = timedelta(hours=48)
    #: a placed call that reports nothing back (no rating, no end) counts as unanswered after
    call_window: timedelta = timedelta(minutes=15)
    #: an unanswered question is asked again after this long, on the next route
    retry_after: timedelta = timedelta(hours=2)
    max_attempts: int = 3
    #: 满意 / 基本满意 close (归档) the resolved ticket
    close_when_content: bool = True
    #: 不满意 reopens (重办) the ticket at its unit, at most ``max_reopens`` times
    reopen_when_unsatisfied: bool = True
    max_reopens: int = 2
    #: the reopened ticket's new deadline when the router has none for it
    reopen_days: int = 5
    #: after 不满意, the citizen's next message this soon is taken as the reason
    reason_window: timedelta = timedelta(hours=24)
    #: the country of national numbers: phones are stored as E.164 under it (hotline.phones),
    #: and only its mobiles are sent SMS
    country_code: str = "+86"

    def next_window(self, at: datetime) -> datetime:
        """``at`` if it falls in the hours citizens may be asked, else the next opening."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        opening = datetime.combine(local.date(), time(self.first_hour), zone)
        closing = opening + timedelta(hours=self.last_hour - self.first_hour)
        if local < opening:
            return opening.astimezone(at.tzinfo)
        if local >= closing:
            return (opening + timedelta(days=1)).astimezone(at.tzinfo)
        return at
