"""A server killed with SIGKILL right after answering 2xx has lost nothing it acknowledged."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import API_KEY, shipped_config_without_classifier

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
        "HOTLINE_CONFIG": str(shipped_config_without_classifier(tmp_path)),
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


def test_sigterm_drains_a_request_in_flight(tmp_path: Path) -> None:
    """A letter whose handler is still working when SIGTERM arrives is answered and stored.

    The handler is held up by a write lock the test keeps on the SQLite database, the way a
    slow database holds up real requests; the lock is released only after the signal.
    """
    port = free_port()
    db_path = tmp_path / "data" / "hotline.db"
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_PORT": str(port),
        "HOTLINE_CONFIG": str(shipped_config_without_classifier(tmp_path)),
    }
    env.pop("HOTLINE_DATABASE_URL", None)
    assert hotline(env, "db", "upgrade").returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-c", "from hotline.cli.main import main; main()", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(port, server)
        letter = {"title": "噪音", "content": "工地夜间施工", "name": "钱", "phone": "13800138000"}
        lock = sqlite3.connect(db_path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(post, port, "/api/v1/letters", letter)
            time.sleep(1.0)
            assert not pending.done()
            server.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            lock.execute("ROLLBACK")
            lock.close()
            status, body = pending.result(timeout=30)
        assert status == 201
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()
    shown = hotline(env, "tickets", "show", body["ticket"]["number"], "--json")
    assert shown.returncode == 0, shown.stderr
