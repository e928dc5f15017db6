"""Typed configuration, loaded once in ``main()`` from ``config.yml`` plus the environment.

``${NAME}`` and ``${NAME:-default}`` in string values are replaced from the environment, so
secrets never live in the file. ``HOTLINE_DATABASE_URL``, ``HOTLINE_DATA_DIR`` and
``HOTLINE_PORT`` override the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.channels.email.config import EmailConfig, SmtpLogin
from hotline.channels.open311.config import Open311Config
from hotline.channels.telegram.config import TelegramConfig
from hotline.channels.twilio.config import TwilioConfig
from hotline.channels.wechat.config import WeChatConfig
from hotline.errors import ConfigError
from hotline.tls import Security, check_transport

#: the shortest secret accepted to sign rating links (24 random bytes are 32 in base64)
MIN_LINK_SECRET = 32
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    shutdown_timeout_seconds: float = Field(30.0, gt=0)
    #: hops of reverse proxies whose X-Forwarded-For we trust; 0 trusts none
    trusted_proxies: int = Field(0, ge=0)


class DatabaseConfig(_Section):
    #: empty means a SQLite file ``hotline.db`` under ``data_dir``
    url: str = ""
    pool_size: int = Field(5, ge=1)
    echo: bool = False


class AuthConfig(_Section):
    token_ttl_minutes: int = Field(480, ge=1)


class IntakeConfig(_Section):
    timezone: str = "Asia/Shanghai"
    #: ticket numbers are <yyyymmdd><sequence>, the sequence zero-padded to this width
    ticket_sequence_digits: int = Field(5, ge=3, le=8)
    max_text_chars: int = Field(4000, ge=100)
    #: a new report of an open matter (same subcategory, same place) this many hours after it
    #: is linked to it instead of dispatched again; 0 disables
    duplicate_window_hours: int = Field(72, ge=0, le=24 * 90)
    #: a written conversation that waited this long for a person (转人工) goes back to the bot
    agent_max_wait_minutes: float = Field(10, gt=0, le=24 * 60)


class AppChannelConfig(_Section):
    enabled: bool = True
    #: shared secret the city app / web back end sends in the ``X-Api-Key`` header
    api_key: str = ""
    websocket_poll_seconds: float = Field(2.0, gt=0)


class LettersConfig(_Section):
    enabled: bool = True
    #: a letter speaks for the holder of its phone only with a code sent there by SMS;
    #: unset: on when SMS is configured (channels.twilio with sms_from). Off, a letter's phone
    #: is kept for replies but the writer is a citizen of their own
    verify_phone: bool | None = None
    #: a code is good for this long, for this many wrong tries
    code_minutes: float = Field(10, gt=0, le=60)
    code_attempts: int = Field(5, ge=1, le=20)
    #: a phone gets a new code at most once in this many seconds, and this many in an hour
    code_interval_seconds: int = Field(60, ge=0, le=3600)
    codes_per_hour: int = Field(5, ge=1, le=100)
    max_attachment_bytes: int = Field(5_242_880, ge=1024)
    max_attachments: int = Field(5, ge=0)
    allowed_content_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "application/pdf",
        "text/plain",
    )


class ChannelsConfig(_Section):
    app: AppChannelConfig = AppChannelConfig()
    letters: LettersConfig = LettersConfig()
    open311: Open311Config = Open311Config()
    wechat: WeChatConfig = WeChatConfig()
    telegram: TelegramConfig = TelegramConfig()
    twilio: TwilioConfig = TwilioConfig()
    email: EmailConfig = EmailConfig()


class EncoderConfig(_Section):
    #: "use-onnx" (offline USE-multilingual, the default) or "sentence-transformers"
    backend: Literal["use-onnx", "sentence-transformers"] = "use-onnx"
    #: use-onnx: ONNX file (empty: the packaged one); sentence-transformers: model name or path
    model: str = ""


class ClassifierConfig(_Section):
    #: empty means <data_dir>/models/classifier
    model_path: str = ""
    #: refuse to start without a trained, compatible artifact (never run untrained)
    required: bool = True
    top_k: int = Field(5, ge=1, le=20)


class KnowledgeConfig(_Section):
    enabled: bool = True
    #: empty means <data_dir>/knowledge-index
    index_dir: str = ""
    #: calibrated confidence at which the knowledge base answers directly
    answer_threshold: float = Field(0.70, ge=0, le=1)
    #: at or above this (below the answer threshold) the citizen picks from close questions
    suggest_threshold: float = Field(0.30, ge=0, le=1)
    #: how often each process looks for entries published or retired by another process
    poll_seconds: float = Field(0.5, gt=0)


class RoutingConfig(_Section):
    #: route classified tickets to units with deadlines; off: every ticket waits for triage
    enabled: bool = True
    #: empty values mean the sample city's files shipped in hotline/routing/data and hotline/sample
    rules: str = ""
    units: str = ""
    calendar_overrides: str = ""
    #: the city's area polygons (GeoJSON FeatureCollection); empty: no lookup by coordinates
    areas_geojson: str = ""


class SmtpConfig(SmtpLogin):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    #: the From address of dispatch e-mails
    sender: str = "12345@hotline.invalid"
    #: ``plain`` (a relay on this host), ``starttls`` (upgrade, 587/25) or ``tls`` (465)
    security: Security = "plain"


class DispatchConfig(_Section):
    #: run the worker inside ``hotline serve``: "auto" does so on SQLite (one process), not on
    #: PostgreSQL, where ``hotline worker`` processes do the work
    embedded: Literal["auto", "always", "never"] = "auto"
    batch_size: int = Field(100, ge=1, le=1000)
    concurrency: int = Field(32, ge=1, le=512)
    #: a claimed dispatch is someone else's to retry after this long (keep > webhook timeout)
    lease_seconds: float = Field(60.0, gt=0)
    #: after this many failed attempts a dispatch is dead-lettered for supervisors
    max_attempts: int = Field(8, ge=1)
    backoff_base_seconds: float = Field(10.0, gt=0)
    backoff_max_seconds: float = Field(3600.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    #: how often the deadline sweep looks for tickets to warn about (预警) or escalate (督办)
    sweep_seconds: float = Field(30.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    smtp: SmtpConfig = SmtpConfig()

    @model_validator(mode="after")
    def _smtp_transport(self) -> DispatchConfig:
        smtp = self.smtp
        check_transport("dispatch.smtp", smtp.security, smtp.port, smtp.ca_file)
        return self

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> DispatchConfig:
        if self.lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "dispatch.lease_seconds: must be longer than dispatch.webhook_timeout_seconds, "
                "or a slow send could be sent again by another worker"
            )
        return self


class RatingLinkConfig(_Section):
    """A signed link in the SMS and e-mail questions to a page where the citizen rates."""

    #: the public URL citizens open, without the path (https://12345.city.gov.cn); empty: no link
    base_url: str = Field("", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")
    #: signs each link (HMAC-SHA256); at least 32 characters, from the environment
    secret: str = ""

    @model_validator(mode="after")
    def _secret(self) -> RatingLinkConfig:
        if self.base_url and len(self.secret) < MIN_LINK_SECRET:
            raise ValueError(
                f"callbacks.link.secret: callbacks.link.base_url is set but there is no secret "
                f"of at least {MIN_LINK_SECRET} characters to sign the rating links with (anyone "
                "could forge them); set HOTLINE_RATING_LINK_SECRET (config.yml reads it), e.g. "
                "from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`, or leave "
                "callbacks.link.base_url empty to send no link"
            )
        return self


class CallbacksConfig(_Section):
    """Satisfaction callbacks (回访) after a ticket is resolved (办结)."""

    enabled: bool = True
    #: how long after the resolution the citizen is first asked
    delay_minutes: float = Field(60, ge=0)
    #: citizens are called or messaged only from first_hour to last_hour, local time
    first_hour: int = Field(9, ge=0, le=23)
    last_hour: int = Field(20, ge=1, le=24)
    #: a question asked by message waits this long for the answer
    answer_window_hours: float = Field(48, gt=0)
    #: a placed call that reports nothing back counts as unanswered after this long
    call_window_minutes: float = Field(15, gt=0)
    #: an unanswered question is asked again after this long, on the next way to reach them
    retry_after_minutes: float = Field(120, gt=0)
    max_attempts: int = Field(3, ge=1, le=10)
    #: 满意 / 基本满意 close (归档) the resolved ticket
    close_when_content: bool = True
    #: 不满意 reopens (重办) the ticket at its unit, at most max_reopens times, then 督办
    reopen_when_unsatisfied: bool = True
    max_reopens: int = Field(2, ge=0)
    #: a reopened ticket's new deadline where the routing rules give none
    reopen_days: int = Field(5, ge=1)
    #: after 不满意, the citizen's next message this soon is taken as the reason
    reason_window_hours: float = Field(24, gt=0)
    #: the country of national numbers: every phone is stored and dialled as E.164 under it
    country_code: str = Field("+86", pattern=r"^\+\d{1,3}$")
    poll_seconds: float = Field(5.0, gt=0)
    batch_size: int = Field(50, ge=1, le=1000)
    #: the rating page linked from SMS and e-mail questions; off while its base_url is empty
    link: RatingLinkConfig = RatingLinkConfig()

    @model_validator(mode="after")
    def _hours_ordered(self) -> CallbacksConfig:
        if self.first_hour >= self.last_hour:
            raise ValueError("callbacks.first_hour: must be before callbacks.last_hour")
        return self


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


class Config(_Section):
    data_dir: Path = Path(".data")
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    auth: AuthConfig = AuthConfig()
    intake: IntakeConfig = IntakeConfig()
    channels: ChannelsConfig = ChannelsConfig()
    encoder: EncoderConfig = EncoderConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    routing: RoutingConfig = RoutingConfig()
    dispatch: DispatchConfig = DispatchConfig()
    callbacks: CallbacksConfig = CallbacksConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _channels_need_secrets(self) -> Config:
        app = self.channels.app
        if (app.enabled or self.channels.letters.enabled) and not app.api_key:
            raise ValueError(
                "channels.app.api_key: the app channel and letters are enabled but have no "
                "API key; set HOTLINE_APP_API_KEY (config.yml reads it) or disable both channels"
            )
        return self

    @model_validator(mode="after")
    def _codes_need_sms(self) -> Config:
        if self.channels.letters.verify_phone and not self.sms_configured:
            raise ValueError(
                "channels.letters.verify_phone: codes are sent by SMS, and no SMS is configured; "
                "enable channels.twilio with sms_from, or set verify_phone: false"
            )
        return self

    @property
    def sms_configured(self) -> bool:
        """Whether the hotline sends SMS (the Twilio channel with ``sms_from``)."""
        twilio = self.channels.twilio
        return twilio.enabled and bool(twilio.sms_from)

    @property
    def letters_verify_phone(self) -> bool:
        """Whether a letter's phone must be proven by a code (``channels.letters.verify_phone``,
        by default whenever SMS is configured)."""
        verify = self.channels.letters.verify_phone
        return self.sms_configured if verify is None else verify

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> Config:
        if self.knowledge.suggest_threshold > self.knowledge.answer_threshold:
            raise ValueError(
                "knowledge.suggest_threshold: must not be above knowledge.answer_threshold"
            )
        return self

    @property
    def classifier_path(self) -> Path:
        return (
            Path(self.classifier.model_path)
            if self.classifier.model_path
            else self.data_dir / "models" / "classifier"
        )

    @property
    def knowledge_index_dir(self) -> Path:
        return (
            Path(self.knowledge.index_dir)
            if self.knowledge.index_dir
            else self.data_dir / "knowledge-index"
        )

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL, defaulting to SQLite under the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hotline.db').resolve()}"


def substitute_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of a parsed YAML tree."""
    if isinstance(value, dict):
        return {
            k: substitute_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [substitute_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set")

    return _ENV_PATTERN.sub(replace, value)


def _apply_overrides(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    if url := env.get("HOTLINE_DATABASE_URL"):
        raw.setdefault("database", {})["url"] = url
    if data_dir := env.get("HOTLINE_DATA_DIR"):
        raw["data_dir"] = data_dir
    if port := env.get("HOTLINE_PORT"):
        raw.setdefault("server", {})["port"] = port
    return raw


def _format_validation_error(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(message if message.startswith(key) else f"{key}: {message}")
    return "; ".join(lines)


def parse_config(raw: Any, env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document into :class:`Config`."""
    env = os.environ if env is None else env
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("(top level): the configuration must be a mapping of keys to values")
    raw = _apply_overrides(substitute_env(raw, env), env)
    try:
        return Config.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e)) from e


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``path`` (``None`` means built-in defaults plus the environment)."""
    if path is None:
        return parse_config({}, env)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read configuration file {path}: {e.strerror}") from e
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    return parse_config(raw, env)
