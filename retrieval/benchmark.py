"""`zhengwu bench retrieval`: index time, query latency and peak memory, optionally at scale.

With --articles N a synthetic rulebook of N articles is written to a temporary folder, its
sentences recombined from the shipped rulebook so that the vocabulary is realistic.
"""

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge import load_library
from knowledge.numerals import article_label, chapter_label
from retrieval.corpus import split_sentences
from retrieval.engine import RetrievalSettings, RulesEngine
from retrieval.evaluation import load_questions

SHIPPED_QUESTIONS = Path(__file__).parent / "questions" / "office_questions.jsonl"
_ARTICLES_PER_CHAPTER = 50
# What a careless paste sends: the engine must not spend seconds of CPU on it.
PASTED_PAGE = ("副区长离包外出要向谁请示？会议纪要多长时间内印发？" * 800)[:20_000]


@dataclass(frozen=True)
class BenchReport:
    articles: int
    index_seconds: float
    reopen_seconds: float
    first_answer_seconds: float
    query_p50_ms: float
    query_p95_ms: float
    pasted_page_cpu_s: float
    peak_rss_mb: float

    def to_text(self) -> str:
        return (
            f"articles: {self.articles}\nindex build: {self.index_seconds:.2f} s\n"
            f"restart with unchanged index: {self.reopen_seconds:.2f} s\n"
            f"new process to first answer (`zhengwu ask`, index unchanged): {self.first_answer_seconds:.2f} s\n"
            f"query p50: {self.query_p50_ms:.1f} ms\nquery p95: {self.query_p95_ms:.1f} ms\n"
            f"CPU for a 20,000-character message: {self.pasted_page_cpu_s:.2f} s\n"
            f"peak RSS: {self.peak_rss_mb:.0f} MB"
        )


def write_synthetic_rulebook(folder: Path, articles: int, seed: int = 7) -> Path:
    """A well-formed rulebook of `articles` articles built from the shipped rulebook's sentences."""
    sentences = [s for a in load_library()[0].articles for s in split_sentences(a)]
    rng = random.Random(seed)
    lines = ["合成测试规则", ""]
    for number in range(1, articles + 1):
        if (number - 1) % _ARTICLES_PER_CHAPTER == 0:
            lines.append(f"{chapter_label((number - 1) // _ARTICLES_PER_CHAPTER + 1)} 合成章节")
        body = "".join(s for s in rng.sample(sentences, 3) if not s.startswith("（"))
        lines.append(f"{article_label(number)}  {body or sentences[0]}")
    path = folder / "synthetic.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _first_answer_in_new_process(settings: RetrievalSettings, question: str) -> float:
    """Seconds from starting a Python process to its printed answer: imports, engine, one question."""
    env = {**os.environ, "ZHENGWU_RETRIEVAL_CHROMA_DIR": str(settings.chroma_dir)}
    if settings.knowledge_dir:
        env["ZHENGWU_RETRIEVAL_KNOWLEDGE_DIR"] = str(settings.knowledge_dir)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot.cli", "ask", question], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run_benchmark(settings: RetrievalSettings, articles: int | None, queries: int = 200) -> BenchReport:
    questions = [q["question"] for q in load_questions(SHIPPED_QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        knowledge_dir = settings.knowledge_dir
        if articles:
            knowledge_dir = Path(tmp) / "knowledge"
            knowledge_dir.mkdir()
            write_synthetic_rulebook(knowledge_dir, articles)
        bench_settings = RetrievalSettings(knowledge_dir, Path(tmp) / "chroma", settings.backend, settings.model_path)
        started = time.perf_counter()
        engine = RulesEngine.from_settings(bench_settings)
        index_seconds = time.perf_counter() - started
        started = time.perf_counter()
        engine = RulesEngine.from_settings(bench_settings)
        reopen_seconds = time.perf_counter() - started
        first_answer_seconds = _first_answer_in_new_process(bench_settings, questions[0])
        latencies = [engine.ask(questions[i % len(questions)]).latency_ms for i in range(queries)]
        cpu_started = time.process_time()
        engine.ask(PASTED_PAGE)
        pasted_page_cpu_s = time.process_time() - cpu_started
    return BenchReport(
        articles=len(engine.corpus.articles),
        index_seconds=index_seconds,
        reopen_seconds=reopen_seconds,
        first_answer_seconds=first_answer_seconds,
        query_p50_ms=float(np.percentile(latencies, 50)),
        query_p95_ms=float(np.percentile(latencies, 95)),
        pasted_page_cpu_s=pasted_page_cpu_s,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
