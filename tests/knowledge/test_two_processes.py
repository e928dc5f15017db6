"""A publish through one server process is answered by another within about a second.

Two real `hotline serve` processes share one database (SQLite here, PostgreSQL too when
configured), as several stateless servers do in production.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import API_KEY, shipped_config_without_classifier
from tests.test_crash_safety import free_port, hotline, wait_ready

PASSWORDS = "initial-passwords.txt"


def call(port: int, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def login(port: int, passwords: dict[str, str], username: str) -> str:
    body = {"username": username, "password": passwords[username]}
    return str(call(port, "POST", "/api/v1/staff/login", body)["token"])


def test_a_publish_reaches_the_other_server(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    env = {
        **os.environ,
        "HOTLINE_DATA_DIR": str(data_dir),
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(shipped_config_without_classifier(tmp_path)),
    }
    assert hotline(env, "init").returncode == 0
    lines = (data_dir / PASSWORDS).read_text(encoding="utf-8").splitlines()
    passwords = dict(line.split("\t") for line in lines)
    ports = [free_port(), free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", "from hotline.cli.main import main; main()", "serve"],
            env={**env, "HOTLINE_PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_ready(port, server)
        writer, reader = ports
        editor = login(writer, passwords, "editor")
        entry = {
            "question": "人才公寓怎么申请？",
            "answer": "在临江人才网提交申请，审核通过后按顺序配租。",
            "similar_questions": ["人才房去哪里申请"],
        }
        created = call(writer, "POST", "/api/v1/staff/kb/entries", entry, editor)["entry"]
        path = f"/api/v1/staff/kb/entries/{created['id']}"
        call(writer, "POST", f"{path}/submit", {}, editor)
        call(writer, "POST", f"{path}/approve", {}, login(writer, passwords, "reviewer"))
        published = time.monotonic()
        agent = login(reader, passwords, "agent")
        found = None
        while time.monotonic() - published < 15:  # it takes a poll; generous for loaded CI
            results = call(
                reader, "GET", "/api/v1/staff/kb/search?q=%E4%BA%BA%E6%89%8D%E6%88%BF", None, agent
            )["results"]
            if results and results[0]["entry_id"] == created["id"]:
                found = time.monotonic() - published
                break
            time.sleep(0.05)
        assert found is not None, "the other server never answered with the new entry"
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
            if server.stderr:
                server.stderr.close()
