"""Prometheus metrics on a per-application registry, and JSON logs with personal data masked."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from hotline.nlu.masking import mask_personal_data


class Metrics:
    """Every metric the service exports; one instance per application, never global."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "hotline_messages_total",
            "Messages stored, by channel and direction",
            ["channel", "direction"],
            registry=self.registry,
        )
        self.tickets_created = Counter(
            "hotline_tickets_created_total",
            "Tickets created, by channel of origin",
            ["channel"],
            registry=self.registry,
        )
        self.emergencies = Counter(
            "hotline_emergency_referrals_total",
            "Messages referred to an emergency service",
            ["service"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "hotline_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class MaskingFilter(logging.Filter):
    """Masks phone, ID-card, bank-card numbers and e-mail addresses in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_personal_data(record.getMessage())
        record.args = None
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, mask_personal_data(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES:
                data[key] = value
        if record.exc_info:
            data["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


class MaskedTextFormatter(logging.Formatter):
    """The plain-text format, with tracebacks masked too (they quote values from the frames)."""

    def formatException(self, ei: Any) -> str:
        return mask_personal_data(super().formatException(ei))


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Install one masked handler on the root logger (called from ``main()`` only)."""
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(MaskedTextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # jieba installs its own handler and sets DEBUG when imported; import it first to undo that.
    import jieba  # noqa: F401

    jieba_logger = logging.getLogger("jieba")
    jieba_logger.handlers.clear()
    jieba_logger.setLevel(logging.WARNING)
