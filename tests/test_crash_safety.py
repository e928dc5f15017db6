"""A server killed with SIGKILL right after answering 2xx has lost nothing it acknowledged."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hotline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from hotline.cli.main import main; main()", *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def post(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Api-Key": API_KEY},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail("server did not become ready")


def test_sigkill_after_2xx_loses_nothing(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_PORT": str(port),
        "HOTLINE_CONFIG": str(ROOT / "config.yml"),
    }
    assert hotline(env, "db", "upgrade").returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-c", "from hotline.cli.main import main; main()", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(port, server)
        letter = {
            "title": "井盖缺失",
            "content": "人民路口井盖没了",
            "name": "赵",
            "phone": "13800138000",
        }
        status, body = post(port, "/api/v1/letters", letter)
        assert status == 201
        status, chat = post(
            port, "/api/v1/messages", {"sender": "k", "text": "你好", "message_id": "k1"}
        )
        assert status == 201
        os.kill(server.pid, signal.SIGKILL)
    finally:
        server.kill()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()
    number = body["ticket"]["number"]
    shown = hotline(env, "tickets", "show", number, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["ticket"]["number"] == number
    assert chat["conversation_id"]
