"""The ``channels.wechat`` configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.channels.wechat.crypto import aes_key
from hotline.errors import ConfigError


class WeChatConfig(BaseModel):
    """A WeChat official account (公众号) whose server URL is ``/channels/wechat``.

    Off unless enabled; an enabled account without its token refuses to start. With an
    EncodingAESKey the channel runs in safe mode (安全模式) and refuses unencrypted pushes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    #: the Token of the account's server configuration (服务器配置)
    token: str = ""
    #: the account's AppID; safe mode checks it inside every encrypted message
    app_id: str = ""
    #: the AppSecret, for the API that pushes later messages (agents' replies, resolutions)
    app_secret: str = ""
    api_base_url: str = Field("https://api.weixin.qq.com", pattern=r"^https?://\S+$")
    #: the 43-character EncodingAESKey; set it for safe mode, leave it empty for plain mode
    encoding_aes_key: str = ""
    #: a push whose timestamp is further than this from our clock is refused (replayed requests)
    max_clock_skew_seconds: int = Field(300, ge=30, le=3600)
    #: WeChat pushes are small; larger bodies are refused with 413
    max_body_bytes: int = Field(65_536, ge=4096, le=1_048_576)
    #: a template message (模板消息) that tells a follower a message waits for them, when the
    #: 48-hour window for customer-service messages has closed (resolutions and satisfaction
    #: callbacks usually come later); empty: such messages wait silently for the citizen
    notice_template_id: str = ""
    #: the template's fields and their values (WeChat limits a "thing" field to 20 characters)
    notice_template_data: dict[str, str] = Field(
        default_factory=lambda: {
            "thing1": "您有一条12345热线的新消息",
            "thing2": "请在公众号内回复任意内容查看",
        }
    )
    #: a message held this long for the citizen's next message is out of date: it is never
    #: delivered; a resolution goes by another way that reaches them (SMS, e-mail) if any
    max_hold_days: float = Field(7, gt=0, le=365)
    #: what a new follower (subscribe event) is told
    welcome: str = (
        "您好，这里是12345政务服务便民热线。请直接发送文字或语音描述您的诉求，"
        "也可以发送位置。紧急情况请拨打110、119、120、122。"
    )

    @model_validator(mode="after")
    def _secrets(self) -> WeChatConfig:
        if not self.enabled:
            return self
        if not self.token:
            raise ValueError(
                "channels.wechat.token: the WeChat channel is enabled without its Token; set "
                "it from the environment (token: ${HOTLINE_WECHAT_TOKEN}) or disable the channel"
            )
        if not self.app_id or not self.app_secret:
            raise ValueError(
                "channels.wechat.app_secret: the WeChat channel needs the account's app_id and "
                "app_secret to push agents' replies and resolutions; set both from the environment"
            )
        if self.notice_template_id and not self.notice_template_data:
            raise ValueError(
                "channels.wechat.notice_template_data: a notice template needs its field values"
            )
        if self.encoding_aes_key:
            try:
                aes_key(self.encoding_aes_key)
            except ConfigError as e:
                raise ValueError(e.message) from e
        return self

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)
