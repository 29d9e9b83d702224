"""Retrieval evaluation over a JSONL question set: recall@k, MRR, declines and latency.

Each line is {"question": "...", "articles": [79]}; an empty list means the rules do not cover
the question and the right behaviour is to decline. A declined in-scope question is a miss at
every k. A question counts as found at k when any of its listed articles is among the first k
articles the answer cites or retrieval ranks.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from retrieval.engine import RulesEngine


@dataclass(frozen=True)
class EvaluationReport:
    """The numbers `zhengwu eval` prints; field names are the --json keys."""

    recall_at_1: float
    recall_at_3: float
    mrr: float
    oos_declined: float
    false_declines: float
    p50_ms: float
    p95_ms: float
    n: int

    def to_json(self) -> str:
        return json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()})

    def to_text(self) -> str:
        return (
            f"questions: {self.n}\n"
            f"recall@1: {self.recall_at_1:.3f}\nrecall@3: {self.recall_at_3:.3f}\nMRR: {self.mrr:.3f}\n"
            f"out-of-scope declined: {self.oos_declined:.3f}\nin-scope wrongly declined: {self.false_declines:.3f}\n"
            f"latency p50: {self.p50_ms:.1f} ms\nlatency p95: {self.p95_ms:.1f} ms"
        )


@dataclass(frozen=True)
class QuestionOutcome:
    """What happened to one question, for the per-question listing."""

    question: str
    expected: list[int]
    ranked: list[int]
    declined: bool
    rank: int | None


def load_questions(path: Path) -> list[dict]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            questions.append({"question": str(entry["question"]), "articles": [int(a) for a in entry["articles"]]})
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected {{'question': str, 'articles': [int]}}, got {line!r}") from exc
    return questions


def evaluate(engine: RulesEngine, questions: list[dict]) -> tuple[EvaluationReport, list[QuestionOutcome]]:
    """Ask every question and score the answers."""
    outcomes: list[QuestionOutcome] = []
    latencies: list[float] = []
    for entry in questions:
        answer = engine.ask(entry["question"])
        latencies.append(answer.latency_ms)
        cited = [c.article_number for c in answer.citations]
        ranked = cited + [c.article_number for c in answer.related if c.article_number not in cited]
        expected = entry["articles"]
        rank = None
        if not answer.declined and expected:
            rank = next((i + 1 for i, n in enumerate(ranked) if n in expected), None)
        outcomes.append(QuestionOutcome(entry["question"], expected, ranked, answer.declined, rank))
    in_scope = [o for o in outcomes if o.expected]
    out_of_scope = [o for o in outcomes if not o.expected]

    def share(items: list[QuestionOutcome], test) -> float:
        return sum(1 for o in items if test(o)) / len(items) if items else 0.0

    report = EvaluationReport(
        recall_at_1=share(in_scope, lambda o: o.rank == 1),
        recall_at_3=share(in_scope, lambda o: o.rank is not None and o.rank <= 3),
        mrr=sum(1 / o.rank for o in in_scope if o.rank) / len(in_scope) if in_scope else 0.0,
        oos_declined=share(out_of_scope, lambda o: o.declined),
        false_declines=share(in_scope, lambda o: o.declined),
        p50_ms=float(np.percentile(latencies, 50)) if latencies else 0.0,
        p95_ms=float(np.percentile(latencies, 95)) if latencies else 0.0,
        n=len(outcomes),
    )
    return report, outcomes
