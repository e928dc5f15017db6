"""Later messages to callers and SMS citizens (agents' replies, resolutions) go out as SMS."""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException

from hotline.channels.push import PushFailed
from hotline.channels.twilio.adapter import fit_sms
from hotline.channels.twilio.rest import TwilioRest

#: Twilio error codes retrying cannot help: an invalid or unreachable number, a number that
#: replied STOP, a landline that cannot take SMS
FINAL_CODES = frozenset({21211, 21214, 21408, 21610, 21612, 21614})


class TwilioSmsPusher(TwilioRest):
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_from: str,
        api_base_url: str = "https://api.twilio.com",
    ) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token, api_base_url=api_base_url)
        self._from = sms_from

    async def push(self, address: str, text: str) -> None:
        try:
            await self.client().messages.create_async(
                to=address, from_=self._from, body=fit_sms(text)
            )
        except TwilioRestException as e:
            final = e.code in FINAL_CODES or (400 <= e.status < 500 and e.status != 429)
            raise PushFailed(f"Twilio {e.status} code {e.code}: {e.msg}", final=final) from e
        except (TwilioException, OSError, TimeoutError) as e:
            raise PushFailed(f"Twilio unreachable: {e!r}") from e
