"""`zhengwu bench chat`: end-to-end latency through the sandbox with many simulated users.

Each simulated user (a sandbox account of its own) asks its share of questions one after another,
waits for the answer, then pauses `think_ms` (a person reads the answer before asking again; 0
makes it a saturation test). Users start spread over one pause rather than all at once. Latency is question sent -> answer received, over real HTTP and real
PTB polling.
"""

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.benchmarks.harness import RunningBot
from bot.config import Settings
from bot.sandbox.client import SandboxClient
from bot.sandbox.launch import sandbox_server
from bot.sandbox.server import SandboxUser
from bot.services import build_services
from retrieval.benchmark import SHIPPED_QUESTIONS
from retrieval.evaluation import load_questions

_FIRST_USER_ID = 500000


@dataclass(frozen=True)
class ChatBenchReport:
    users: int
    think_ms: float
    questions: int
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float

    def to_text(self) -> str:
        return (
            f"simulated users: {self.users} (pause {self.think_ms:.0f} ms between questions)\nquestions answered: {self.questions}\n"
            f"throughput: {self.questions / self.seconds:.1f} questions/s\n"
            f"end-to-end p50: {self.p50_ms:.1f} ms\nend-to-end p95: {self.p95_ms:.1f} ms\nmax: {self.max_ms:.1f} ms"
        )


def run_chat_benchmark(settings: Settings, users: int, questions: int, think_ms: float = 0.0) -> ChatBenchReport:
    texts = [q["question"] for q in load_questions(SHIPPED_QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        services = build_services(replace(settings, database_url=database_url))
        server = sandbox_server(services, "127.0.0.1", 0)
        server.state.users.update(
            {_FIRST_USER_ID + i: SandboxUser(_FIRST_USER_ID + i, f"用户{i}") for i in range(users)}
        )
        server.start_in_thread()
        running = RunningBot(services, server).start()
        try:
            latencies, seconds = _drive(server.url, users, questions, texts, think_ms / 1000)
        finally:
            running.stop()
            server.stop_thread()
    return ChatBenchReport(
        users,
        think_ms,
        len(latencies),
        seconds,
        float(np.percentile(latencies, 50)),
        float(np.percentile(latencies, 95)),
        max(latencies),
    )


def _drive(url: str, users: int, questions: int, texts: list[str], think_s: float) -> tuple[list[float], float]:
    share = [questions // users + (1 if i < questions % users else 0) for i in range(users)]

    def one_user(index: int) -> list[float]:
        client = SandboxClient(url, timeout_s=30)
        user_id = _FIRST_USER_ID + index
        spent = []
        # People do not start in lockstep: spread the first questions over one pause.
        time.sleep(think_s * index / users)
        for n in range(share[index]):
            started = time.perf_counter()
            client.ask(user_id, texts[(index * 7 + n) % len(texts)])
            spent.append((time.perf_counter() - started) * 1000)
            time.sleep(think_s)
        client.close()
        return spent

    started = time.perf_counter()
    with ThreadPoolExecutor(users) as pool:
        results = list(pool.map(one_user, range(users)))
    return [ms for user in results for ms in user], time.perf_counter() - started
