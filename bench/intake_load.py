"""Intake throughput with several ``hotline serve`` processes on one PostgreSQL, one killed.

    .venv/bin/python bench/intake_load.py [--citizens 600] [--servers 2] [--concurrency 16] \
        [--kill-at 0.5] [--model .data/models/classifier] [--trace N] [--sqlite] \
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Creates a scratch database beside the given one, runs ``hotline init`` on it (sample units,
staff and knowledge), starts the servers on their own ports with the trained classifier, and
lets simulated citizens talk to the app channel (``POST /api/v1/messages``), each on its own
conversation, spread over the servers: half report a problem and answer the bot's questions
(place, phone, confirmation) until they get a ticket number, half ask a question from the
sample knowledge base and say whether the answer helped. When the given fraction of
conversations has finished, the first server is SIGKILLed; a citizen whose request failed (no
answer, a refused connection, 503) sends the same message id again to another server, as the
city app does. It reports messages per second, the latency of every acknowledged message,
and checks the database afterwards: every acknowledged message stored exactly once, one ticket
for each ticket number a citizen was told, and no ticket without its citizen having been told.
The scratch database is dropped at the end. With ``--sqlite`` the embedded default is measured
instead: one server on a SQLite file, restarted after the kill as a service manager would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import yaml
from scratch import admin  # bench/scratch.py
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hotline.storage.db import Database
from hotline.storage.models import Direction, Message, Ticket

API_KEY = "bench-app-key-0123456789abcdef"
PROBLEMS = [
    "我要投诉，小区门口的烧烤摊每天晚上油烟很大，呛得窗户都不敢开",
    "路灯坏了好几天了，晚上走路很黑，希望尽快修一下",
    "楼上装修每天早上七点就开始电钻，严重影响休息",
    "马路上有个井盖松动了，车一过就哐哐响，很危险",
    "小区垃圾好几天没人清运，臭味很大",
    "反映一下，菜市场门口占道经营很严重，车都过不去",
    "我家停水两天了，也没有通知，什么时候能恢复",
    "公交站的候车亭玻璃碎了，怕伤到人",
]
PLACES = ["江北区望江路18号翠湖小区", "临江市江南区滨江大道与人民路交叉口", "江北区解放路120号"]
QUESTIONS = [
    "社保卡丢了怎么补办",
    "公积金怎么取出来",
    "外地人怎么办居住证",
    "新生儿上户口要带什么",
    "身份证丢了咋办",
    "医保在外地看病怎么报",
    "失业金怎么领",
    "电动车怎么上牌",
    "退休金几号发",
    "个体户执照怎么办",
]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    #: latency by what the citizen said: the request, a place, a phone, 确认, a choice...
    by_step: dict[str, list[float]] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    retries: int = 0
    failed_for_good: int = 0
    told_tickets: set[str] = field(default_factory=set)
    conversations_done: int = 0


class Citizens:
    def __init__(self, ports: list[int], stats: Stats, seed: int) -> None:
        self.ports = ports
        self.alive = list(ports)
        self.stats = stats
        self.random = random.Random(seed)
        self.trace = 0

    async def say(
        self,
        http: aiohttp.ClientSession,
        sender: str,
        text: str,
        message_id: str,
        home: int,
        step: str,
    ) -> dict[str, Any] | None:
        body = {"sender": sender, "text": text, "message_id": message_id}
        for attempt in range(12):
            port = self.alive[(home + attempt) % len(self.alive)]
            start = time.perf_counter()
            try:
                async with http.post(
                    f"http://127.0.0.1:{port}/api/v1/messages",
                    json=body,
                    headers={"X-Api-Key": API_KEY},
                ) as response:
                    data = await response.json(content_type=None)
                    if response.status in (200, 201):
                        took = (time.perf_counter() - start) * 1000
                        self.stats.latencies.append(took)
                        self.stats.by_step.setdefault(step, []).append(took)
                        self.stats.acknowledged.add(message_id)
                        return data if isinstance(data, dict) else None
                    if response.status < 500:
                        raise SystemExit(f"{response.status} for {body}: {data}")
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.stats.retries += 1
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        self.stats.failed_for_good += 1
        return None

    async def conversation(self, http: aiohttp.ClientSession, n: int) -> None:
        sender = f"bench-{n}"
        problem = n % 2 == 0
        text = self.random.choice(PROBLEMS if problem else QUESTIONS)
        step = "problem" if problem else "question"
        for turn in range(8):
            data = await self.say(http, sender, text, f"{sender}-{turn}", home=n, step=step)
            if data is None:
                break
            if data.get("ticket"):
                self.stats.told_tickets.add(data["ticket"]["number"])
            said = " ".join(r["text"] for r in data.get("replies", ()))
            answer = next_answer(said, data)
            step = step_of(answer)
            if n < self.trace:
                print(f"[{sender}] {text!r} -> {said!r} -> {answer!r}", file=sys.stderr)
            if answer is None:
                break
            text = answer
        self.stats.conversations_done += 1


def next_answer(said: str, data: dict[str, Any]) -> str | None:
    """What a cooperative citizen answers to the bot's last replies (None: finished)."""
    if "请确认您的诉求" in said:
        return "确认"
    if "具体地点" in said:
        return random.choice(PLACES)
    if "请留下您的联系电话" in said or "有效的电话号码" in said:
        return f"138{random.randint(0, 99_999_999):08d}"
    if "是否解决了您的问题" in said:
        return random.choice(["解决了", "没解决"])
    if "请回复序号" in said:
        return "1"
    if data.get("ticket") or "很高兴" in said:
        return None
    return None


def step_of(answer: str | None) -> str:
    if answer is None or answer in ("确认", "解决了", "没解决", "1"):
        return answer or "-"
    return "phone" if answer.isdigit() else "place"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hotline(config: Path, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    code = "from hotline.cli.main import main; main()"
    output = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "HOTLINE_CONFIG": str(config), "HOTLINE_APP_API_KEY": API_KEY},
        stdout=output,
        stderr=subprocess.STDOUT,
    )


async def ready(ports: list[int], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        for port in ports:
            while True:
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"server on port {port} did not become ready")
                await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-load-"))
    if args.sqlite:
        url = f"sqlite+aiosqlite:///{workdir / 'hotline.db'}"
    else:
        url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
        await admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    servers: list[subprocess.Popen[bytes]] = []
    database = Database(url)
    try:
        shutil.copytree(args.model, workdir / "models" / "classifier")
        config = workdir / "config.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(workdir),
                    "database": {"url": url},
                    "channels": {"app": {"api_key": API_KEY}},
                    "logging": {"format": "text", "level": "WARNING"},
                    **({} if args.sqlite else {"dispatch": {"embedded": "never"}}),
                }
            ),
            encoding="utf-8",
        )
        if hotline(config, "init").wait() != 0:
            raise SystemExit("hotline init failed")
        ports = [free_port() for _ in range(args.servers)]
        servers = [
            hotline(config, "serve", "--port", str(p), log=workdir / f"s{i}.log")
            for i, p in enumerate(ports)
        ]
        await ready(ports)
        stats = Stats()
        citizens = Citizens(ports, stats, seed=args.seed)
        citizens.trace = args.trace
        killed = False
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(args.citizens):
            queue.put_nowait(n)
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=args.concurrency * 2)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

            async def citizen_loop() -> None:
                nonlocal killed
                while not queue.empty():
                    n = queue.get_nowait()
                    await citizens.conversation(http, n)
                    done = stats.conversations_done / args.citizens
                    if args.kill_at and not killed and done >= args.kill_at:
                        killed = True
                        servers[0].send_signal(signal.SIGKILL)
                        print(f"killed server 0 after {stats.conversations_done}", file=sys.stderr)
                        if len(ports) > 1:
                            citizens.alive = ports[1:]
                        else:  # the embedded default: the service manager starts it again
                            servers[0].wait()
                            servers[0] = hotline(
                                config, "serve", "--port", str(ports[0]), log=workdir / "s0b.log"
                            )

            start = time.perf_counter()
            await asyncio.gather(*(citizen_loop() for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
        async with database.read() as session:
            stored = set(
                (
                    await session.execute(
                        select(Message.external_id).where(Message.direction == Direction.INBOUND)
                    )
                ).scalars()
            )
            numbers = set((await session.execute(select(Ticket.number))).scalars())
            tickets = int((await session.execute(select(func.count(Ticket.id)))).scalar_one())
    finally:
        for process in servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in servers:
            process.wait(timeout=60)
        await database.dispose()
        if not args.sqlite:
            await admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
    latencies = np.array(stats.latencies)
    return {
        "database": "sqlite" if args.sqlite else "postgresql",
        "servers": args.servers,
        "citizens": args.citizens,
        "concurrency": args.concurrency,
        "killed_server_at_fraction": args.kill_at or None,
        "messages_acknowledged": len(stats.acknowledged),
        "elapsed_s": round(elapsed, 2),
        "messages_per_s": round(len(stats.acknowledged) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "p50_p99_ms_by_step": {
            step: [round(float(np.percentile(v, q)), 1) for q in (50, 99)] + [len(v)]
            for step, v in sorted(stats.by_step.items())
        },
        "retries": stats.retries,
        "failed_for_good": stats.failed_for_good,
        "acknowledged_not_stored": len(stats.acknowledged - stored),
        "tickets": tickets,
        "tickets_told": len(stats.told_tickets),
        "told_but_missing": len(stats.told_tickets - numbers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--citizens", type=int, default=600)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-at", type=float, default=0.5, help="0: kill nothing")
    parser.add_argument("--model", type=Path, default=Path(".data/models/classifier"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--trace", type=int, default=0, help="print the first N conversations")
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="the embedded default: one server on a SQLite file (a killed one is restarted)",
    )
    args = parser.parse_args()
    if args.sqlite:
        args.servers = 1
    if not (args.model / "manifest.json").exists():
        raise SystemExit(f"no trained classifier at {args.model}: run `make model` or pass --model")
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
