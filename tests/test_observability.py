import json
import logging
import sys

import pytest

from hotline.observability import JsonFormatter, MaskedTextFormatter, MaskingFilter


def test_logs_never_carry_phone_or_id_numbers(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.makeLogRecord(
        {
            "name": "hotline.test",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "caller %s id %s ticket %s",
            "args": ("13800138000", "110101199003074578", "2026112200001"),
            "sender": "13912345678",
        }
    )
    assert MaskingFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert "13800138000" not in line["message"]
    assert "138****8000" in line["message"]
    assert "110101199003074578" not in line["message"]
    assert "2026112200001" in line["message"]
    assert line["sender"] == "139****5678"


def test_tracebacks_are_masked_in_both_formats() -> None:
    try:
        raise ValueError("no citizen with phone 13800138000")
    except ValueError:
        record = logging.makeLogRecord(
            {"name": "t", "levelname": "ERROR", "msg": "failed", "exc_info": sys.exc_info()}
        )
    assert MaskingFilter().filter(record)
    text = MaskedTextFormatter("%(message)s").format(record)
    assert "13800138000" not in text
    assert "138****8000" in text
    record.exc_text = None  # the text formatter caches the traceback on the record
    assert "13800138000" not in JsonFormatter().format(record)
