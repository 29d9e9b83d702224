"""`zhengwu bench console`: page render times with an office of 500 people, 5,000 leave records and
1,000 topics in a fresh SQLite database (the pages as the admin sees them: everything)."""

import random
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bot.config import Settings
from bot.console.server import TEMPLATES, ConsoleServer
from bot.db import Person
from bot.leave.models import LeaveRequest
from bot.leave.service import LeaveStatus
from bot.services import build_services
from bot.topics.models import Topic
from bot.topics.service import TopicStatus

PAGES = ("leaves", "topics", "deadlines")
KINDS = ("离包外出", "休假", "事假", "病假", "出国（境）")


@dataclass(frozen=True)
class ConsoleBenchReport:
    people: int
    leaves: int
    topics: int
    times_ms: dict[str, list[float]]

    def to_text(self) -> str:
        lines = [f"people: {self.people}, leave records: {self.leaves}, topics: {self.topics}"]
        for page, times in self.times_ms.items():
            lines.append(f"/{page}: p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms")
        return "\n".join(lines)


def run_console_benchmark(settings: Settings, rounds: int = 40, seed: int = 7) -> ConsoleBenchReport:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        services = build_services(replace(settings, database_url=f"sqlite:///{Path(tmp) / 'console.sqlite3'}"))
        today = services.clock.today()
        admin_id = services.run(lambda session: _fill(session, rng, today))
        server = ConsoleServer(services, "127.0.0.1", 0)
        builders = {"leaves": server._leaves, "topics": server._topics, "deadlines": server._deadlines}
        times: dict[str, list[float]] = {page: [] for page in PAGES}
        for _ in range(rounds):
            for page, build in builders.items():
                started = time.perf_counter()

                def render(session, build=build) -> str:
                    viewer = session.get(Person, admin_id)
                    template, context = build(session, viewer, _Request())
                    return TEMPLATES.get_template(template).render(viewer=viewer, csrf="x", **context)

                services.run(render)
                times[page].append((time.perf_counter() - started) * 1000)
        services.database.dispose()
    return ConsoleBenchReport(500, 5000, 1000, times)


class _Request:
    """What the page builders read of a request: no query, no path parameters."""

    query: dict[str, str] = {}
    match_info: dict[str, str] = {}


def _fill(session, rng: random.Random, today: date) -> int:
    departments = [f"第{n}局" for n in range(1, 41)]
    people = [
        Person(name=f"人员{n:03d}", position="工作人员", department=rng.choice(departments), areas=[])
        for n in range(500)
    ]
    people[0].is_admin = True
    session.add_all(people)
    session.flush()
    for n in range(5000):
        start = today - timedelta(days=rng.randint(-200, 200))
        session.add(
            LeaveRequest(
                requester_id=rng.choice(people).id,
                status=rng.choice([LeaveStatus.APPROVED, LeaveStatus.PENDING, LeaveStatus.COMPLETED]),
                kind=rng.choice(KINDS),
                start_date=start,
                end_date=start + timedelta(days=rng.randint(0, 4)),
                reason="事由",
                approver_id=people[1].id,
                conflicts=["AB角同期不在岗（第七十九条）"] if n % 50 == 0 else [],
            )
        )
    for n in range(1000):
        reviewer = rng.choice(people)
        chain = [{"role": "分管副区长", "action": "审核", "person_id": reviewer.id, "person_name": reviewer.name}]
        session.add(
            Topic(
                requester_id=rng.choice(people).id,
                status=rng.choice([TopicStatus.IN_REVIEW, TopicStatus.ACCEPTED, TopicStatus.RETURNED]),
                meeting_type="常务会议",
                title=f"议题{n}",
                department=rng.choice(departments),
                chain=chain,
                stage=0,
                agenda_order=n,
            )
        )
    return people[0].id
