"""The ``channels.twilio`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TwilioConfig(BaseModel):
    """Twilio voice (the IVR of the hotline number) and SMS; off unless enabled.

    Point the number's voice webhook at ``<public_base_url>/channels/twilio/voice`` and its
    messaging webhook at ``…/channels/twilio/sms``. Twilio signs each request over the URL it
    called, so that URL is configured here: a Host or X-Forwarded-* header could be forged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    account_sid: str = ""
    #: signs every webhook (X-Twilio-Signature) and authenticates outbound SMS
    auth_token: str = ""
    #: the public https URL Twilio calls, without the path (e.g. https://12345.city.gov.cn)
    public_base_url: str = Field("", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    #: the number later messages (agents' replies, resolutions) are sent from by SMS; empty: none
    sms_from: str = ""
    #: the number satisfaction callbacks (回访) are called from, keypad rating; empty: no calls
    voice_from: str = ""
    api_base_url: str = Field("https://api.twilio.com", pattern=r"^https?://\S+$")
    language: str = "zh-CN"
    #: a text-to-speech voice that speaks Mandarin, e.g. Polly.Zhiyu or Google.cmn-CN-Standard-A
    voice: str = "Polly.Zhiyu"
    #: how many silent turns in a row end the call
    max_silences: int = Field(2, ge=1, le=5)
    #: where an emergency is transferred (两线联动); the values are dialled as they are
    emergency_numbers: dict[str, str] = Field(
        default_factory=lambda: {"110": "110", "119": "119", "120": "120", "122": "122"}
    )
    #: the Twilio queue callers who ask for a person (转人工) wait in
    agent_queue: str = Field("hotline-agents", min_length=1, max_length=64)
    #: a caller who waited this long in ``agent_queue`` leaves it and tells the IVR the request
    agent_queue_max_wait_seconds: int = Field(180, ge=10, le=3600)
    #: an agent's softphone is the Twilio Client with this prefix + their username
    agent_client_prefix: str = Field("agent-", max_length=32)
    max_body_bytes: int = Field(65_536, ge=4096, le=1_048_576)
    greeting: str = "您好，这里是12345政务服务便民热线。请在提示音后说出您的诉求。"

    @model_validator(mode="after")
    def _secrets(self) -> TwilioConfig:
        if not self.enabled:
            return self
        if not self.auth_token or not self.account_sid:
            raise ValueError(
                "channels.twilio.auth_token: the Twilio channel is enabled without its account "
                "SID and auth token; set both from the environment or disable the channel"
            )
        if not self.public_base_url:
            raise ValueError(
                "channels.twilio.public_base_url: needed to check Twilio's signatures (the URL "
                "Twilio calls, e.g. https://12345.city.gov.cn)"
            )
        return self
