"""One lazily opened Twilio REST client, shared by the SMS pusher and the outbound caller."""

from __future__ import annotations

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client


class TwilioRest:
    def __init__(
        self, *, account_sid: str, auth_token: str, api_base_url: str = "https://api.twilio.com"
    ) -> None:
        self._sid, self._token = account_sid, auth_token
        self._base = api_base_url.rstrip("/")
        self._client: Client | None = None

    def client(self) -> Client:
        # The async HTTP client opens an aiohttp session, which needs the running loop.
        if self._client is None:
            self._client = Client(self._sid, self._token, http_client=AsyncTwilioHttpClient())
            self._client.api.base_url = self._base
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            http = self._client.http_client
            if isinstance(http, AsyncTwilioHttpClient):
                await http.close()
            self._client = None
