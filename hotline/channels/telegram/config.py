"""The ``channels.telegram`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TelegramConfig(BaseModel):
    """A Telegram bot whose webhook is ``/channels/telegram``; off unless enabled.

    Register the webhook with the same secret: ``setWebhook(url=…/channels/telegram,
    secret_token=<webhook_secret>)``. Telegram sends it in every request and the channel refuses
    requests without it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    #: the bot's token from @BotFather
    bot_token: str = ""
    #: the ``secret_token`` given to setWebhook (1-256 characters: letters, digits, _ and -)
    webhook_secret: str = Field("", pattern=r"^[A-Za-z0-9_-]*$", max_length=256)
    api_base_url: str = Field("https://api.telegram.org", pattern=r"^https?://\S+$")
    max_body_bytes: int = Field(1_048_576, ge=4096, le=10_485_760)
    welcome: str = (
        "您好，这里是12345政务服务便民热线。请直接发送文字描述您的诉求，也可以发送位置或分享联系电话。"
        "紧急情况请拨打110、119、120、122。"
    )

    @model_validator(mode="after")
    def _secrets(self) -> TelegramConfig:
        if self.enabled and not self.bot_token:
            raise ValueError(
                "channels.telegram.bot_token: the Telegram channel is enabled without its bot "
                "token; set it from the environment (${HOTLINE_TELEGRAM_TOKEN}) or disable it"
            )
        if self.enabled and len(self.webhook_secret) < 16:
            raise ValueError(
                "channels.telegram.webhook_secret: at least 16 characters, the secret_token the "
                "webhook was registered with; without it anyone could post updates"
            )
        return self
