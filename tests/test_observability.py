import json
import logging

import pytest

from hotline.observability import JsonFormatter, MaskingFilter


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
