"""Later messages to callers and SMS citizens (agents' replies, resolutions) go out as SMS."""

from __future__ import annotations

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from hotline.channels.push import PushFailed
from hotline.channels.twilio.adapter import fit_sms

#: Twilio error codes retrying cannot help: an invalid or unreachable number, a number that
#: replied STOP, a landline that cannot take SMS
FINAL_CODES = frozenset({21211, 21214, 21408, 21610, 21612, 21614})


class TwilioSmsPusher:
    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_from: str,
        api_base_url: str = "https://api.twilio.com",
    ) -> None:
        self._sid, self._token, self._from = account_sid, auth_token, sms_from
        self._base = api_base_url.rstrip("/")
        self._client: Client | None = None

    async def push(self, address: str, text: str) -> None:
        client = self._client_now()
        try:
            await client.messages.create_async(to=address, from_=self._from, body=fit_sms(text))
        except TwilioRestException as e:
            final = e.code in FINAL_CODES or (400 <= e.status < 500 and e.status != 429)
            raise PushFailed(f"Twilio {e.status} code {e.code}: {e.msg}", final=final) from e
        except (TwilioException, OSError, TimeoutError) as e:
            raise PushFailed(f"Twilio unreachable: {e!r}") from e

    async def close(self) -> None:
        if self._client is not None:
            http = self._client.http_client
            if isinstance(http, AsyncTwilioHttpClient):
                await http.close()
            self._client = None

    def _client_now(self) -> Client:
        # The async HTTP client opens an aiohttp session, which needs the running loop.
        if self._client is None:
            self._client = Client(self._sid, self._token, http_client=AsyncTwilioHttpClient())
            self._client.api.base_url = self._base
        return self._client
