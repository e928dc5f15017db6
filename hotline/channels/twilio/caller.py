"""Outbound satisfaction calls (回访外呼) through Twilio's Calls resource.

Twilio fetches the call's TwiML from ``<public_base_url>/channels/twilio/callback?cb=<id>``
when the citizen picks up, and reports the end of the call to ``…/callback/status?cb=<id>``;
both requests are signed (X-Twilio-Signature over the whole URL), so the id cannot be forged.
"""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException

from hotline.callbacks.worker import CallFailed
from hotline.channels.twilio.rest import TwilioRest

QUESTION = "/channels/twilio/callback"
STATUS = "/channels/twilio/callback/status"
#: seconds the phone rings before Twilio gives up (no-answer)
RING_SECONDS = 30


class TwilioCaller(TwilioRest):
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        voice_from: str,
        public_base_url: str,
        api_base_url: str = "https://api.twilio.com",
    ) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token, api_base_url=api_base_url)
        self._from = voice_from
        self._public = public_base_url.rstrip("/")

    async def place(self, *, to: str, callback_id: int) -> str:
        try:
            call = await self.client().calls.create_async(
                to=to,
                from_=self._from,
                url=f"{self._public}{QUESTION}?cb={callback_id}",
                method="POST",
                status_callback=f"{self._public}{STATUS}?cb={callback_id}",
                status_callback_method="POST",
                status_callback_event=["completed"],
                timeout=RING_SECONDS,
            )
        except TwilioRestException as e:
            raise CallFailed(f"Twilio {e.status} code {e.code}: {e.msg}") from e
        except (TwilioException, OSError, TimeoutError) as e:
            raise CallFailed(f"Twilio unreachable: {e!r}") from e
        return str(call.sid)
