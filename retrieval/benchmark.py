"""`zhengwu bench retrieval`: index time, incremental re-index, restart, query latency and memory,
optionally at scale.

With --articles N the benchmark writes an office's rules folder of N articles: about a hundred
books (each department's 工作细则, 公文处理办法, 会议制度 …), their sentences recombined from the
shipped rulebook so that the vocabulary is realistic, and for every tenth book an earlier version
kept under versions/ (superseded: stored, not indexed). It builds the index, publishes a new version
of one book with three changed articles through the shelf (as an admin does) and rebuilds, restarts
with the index unchanged, and asks the shipped office questions.
"""

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge import load_library
from knowledge.editions import VERSIONS_DIR
from knowledge.importing import preview_file
from knowledge.numerals import article_label, chapter_label
from knowledge.shelf import Shelf
from retrieval.corpus import split_sentences
from retrieval.engine import RetrievalSettings, RulesEngine
from retrieval.evaluation import load_questions
from retrieval.progress import EXAMPLES, PASSAGES, Progress

SHIPPED_QUESTIONS = Path(__file__).parent / "questions" / "office_questions.jsonl"
_ARTICLES_PER_CHAPTER = 10
_BOOKS = 100
# Every this many books has an earlier version kept beside it.
_VERSIONED_EVERY = 10
_DEPARTMENTS = (
    "区政府办公室 区发展和改革委员会 区教育局 区科学技术局 区工业和信息化局 区民政局 区司法局 区财政局 "
    "区人力资源和社会保障局 区自然资源局 区生态环境局 区住房和城乡建设局 区交通运输局 区农牧水务局 区商务局 "
    "区文化旅游体育局 区卫生健康委员会 区退役军人事务局 区应急管理局 区审计局 区市场监督管理局 区统计局 "
    "区医疗保障局 区信访局 区政务服务局"
).split()
_KINDS = ("工作细则", "公文处理办法", "会议制度", "请假管理办法")
# What a careless paste sends: the engine must not spend seconds of CPU on it.
PASTED_PAGE = ("副区长离包外出要向谁请示？会议纪要多长时间内印发？" * 800)[:20_000]


@dataclass(frozen=True)
class BenchReport:
    books: int
    earlier_versions: int
    articles: int
    passages: int
    embedded: int  # distinct passage texts the first build embedded
    index_seconds: float
    embed_seconds: float  # of index_seconds: embedding and storing the passages
    learn_seconds: float  # of index_seconds: learning the example questions on this corpus
    reindex_seconds: float
    reindex_embedded: int
    reopen_seconds: float
    first_answer_seconds: float
    query_p50_ms: float
    query_p95_ms: float
    pasted_page_cpu_s: float
    rss_mb: float
    peak_rss_mb: float

    def to_text(self) -> str:
        return (
            f"books: {self.books} in force ({self.earlier_versions} earlier versions kept, not indexed)\n"
            f"articles: {self.articles}, passages: {self.passages}\n"
            f"index build: {self.index_seconds:.1f} s ({self.embedded} distinct passages embedded in "
            f"{self.embed_seconds:.1f} s; learning the example questions {self.learn_seconds:.1f} s)\n"
            f"new version of one book (3 articles changed): {self.reindex_seconds:.1f} s, "
            f"{self.reindex_embedded} passages embedded\n"
            f"restart with unchanged index: {self.reopen_seconds:.2f} s\n"
            f"new process to first answer (`zhengwu ask`, index unchanged): {self.first_answer_seconds:.2f} s\n"
            f"query p50: {self.query_p50_ms:.1f} ms\nquery p95: {self.query_p95_ms:.1f} ms\n"
            f"CPU for a 20,000-character message: {self.pasted_page_cpu_s:.2f} s\n"
            f"memory: {self.rss_mb:.0f} MB resident with the engine loaded, peak {self.peak_rss_mb:.0f} MB"
        )


class _Stages:
    """A progress callback that passes counts on and notes, per stage, its span and its total."""

    def __init__(self, passes_to: Progress) -> None:
        self._passes_to = passes_to
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.total: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.first.setdefault(stage, now)
        self.last[stage], self.total[stage] = now, max(total, self.total.get(stage, 0))
        self._passes_to(stage, done, total)

    def seconds(self, stage: str) -> float:
        return self.last.get(stage, 0.0) - self.first.get(stage, 0.0)


def _book_text(
    number: int, year: int, articles: int, sentences: list[str], headings: list[str], rng: random.Random
) -> str:
    """One department's book of `year`: its own title and 文号, chapters named as the shipped ones are."""
    department, kind = _DEPARTMENTS[number % len(_DEPARTMENTS)], _KINDS[number // len(_DEPARTMENTS) % len(_KINDS)]
    title = f"{department}{kind}" + (f"（{number // 100 + 1}）" if number >= 100 else "")
    lines = [f"昆政办发〔{year}〕{number + 1}号", f"{year}年3月1日", title, ""]
    for article in range(1, articles + 1):
        if (article - 1) % _ARTICLES_PER_CHAPTER == 0:
            chapter = (article - 1) // _ARTICLES_PER_CHAPTER
            lines.append(f"{chapter_label(chapter + 1)} {headings[chapter % len(headings)]}")
        if article == 1:
            body = f"为规范{department}工作，根据有关规定，制定本{kind[-2:]}。"
        elif article == articles:
            body = f"本{kind[-2:]}自印发之日起施行。"
        else:
            body = "".join(s for s in rng.sample(sentences, 3) if not s.startswith("（")) or sentences[0]
        lines.append(f"{article_label(article)}  {body}")
    return "\n".join(lines) + "\n"


def write_synthetic_library(folder: Path, articles: int, seed: int = 7) -> int:
    """An office's rules folder of `articles` articles in up to _BOOKS books, with an earlier version
    of every _VERSIONED_EVERY-th book under versions/; how many books."""
    shipped = load_library()[0]
    sentences = [s for a in shipped.articles for s in split_sentences(a)]
    headings = [c.title for c in shipped.chapters]
    rng = random.Random(seed)
    books = max(1, min(_BOOKS, articles // 20))
    for number in range(books):
        size = articles // books + (number < articles % books)
        name = f"book{number:03d}"
        (folder / f"{name}.txt").write_text(_book_text(number, 2024, size, sentences, headings, rng), encoding="utf-8")
        if number % _VERSIONED_EVERY == 0:
            earlier = folder / VERSIONS_DIR / name
            earlier.mkdir(parents=True)
            text = _book_text(number, 2019, size, sentences, headings, rng)
            (earlier / "1.txt").write_text(text, encoding="utf-8")
    return books


def publish_revision(folder: Path, staging: Path, name: str) -> None:
    """A new version of one book with three articles changed, imported and published as an admin does."""
    lines = (folder / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    articles = [i for i, line in enumerate(lines) if line.startswith("第") and "条" in line[:8]]
    for i in articles[2:5]:
        lines[i] = lines[i].replace("，", "，经集体研究，", 1) + "具体办法另行制定。"
    lines[:2] = [line.replace("2024", "2025") for line in lines[:2]]
    revised = staging / f"{name}-2025.txt"
    staging.mkdir(parents=True, exist_ok=True)
    revised.write_text("\n".join(lines), encoding="utf-8")
    shelf = Shelf(folder, None, staging / "imports")
    shelf.stage(preview_file(revised), name=name)
    shelf.publish(name)


def _first_answer_in_new_process(settings: RetrievalSettings, question: str) -> float:
    """Seconds from starting a Python process to its printed answer: imports, engine, one question."""
    env = {
        **os.environ,
        "ZHENGWU_RETRIEVAL_CHROMA_DIR": str(settings.chroma_dir),
        "ZHENGWU_RETRIEVAL_BACKEND": settings.backend,
    }
    if settings.knowledge_dir:
        env["ZHENGWU_RETRIEVAL_KNOWLEDGE_DIR"] = str(settings.knowledge_dir)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot.cli", "ask", question], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(build: Callable[[], RulesEngine]) -> tuple[RulesEngine, float]:
    started = time.perf_counter()
    engine = build()
    return engine, time.perf_counter() - started


def run_benchmark(
    settings: RetrievalSettings,
    articles: int | None,
    queries: int = 200,
    progress: Progress = lambda *_: None,
    index_dir: Path | None = None,
) -> BenchReport:
    """`progress` hears how far each build is (the CLI draws it as a bar with an estimate). With an
    `index_dir` the index and the learned cache are kept there: a second run over the same synthetic
    books (they are the same for the same N) embeds and learns nothing, and measures the rest."""
    questions = [q["question"] for q in load_questions(SHIPPED_QUESTIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        knowledge_dir, books = settings.knowledge_dir, 0
        if articles:
            knowledge_dir = Path(tmp) / "knowledge"
            knowledge_dir.mkdir()
            books = write_synthetic_library(knowledge_dir, articles)
        bench_settings = RetrievalSettings(
            knowledge_dir, index_dir or Path(tmp) / "chroma", settings.backend, settings.model_path
        )
        first = _Stages(progress)
        engine, index_seconds = _timed(lambda: RulesEngine.from_settings(bench_settings, first))
        earlier = len(list(knowledge_dir.glob(f"{VERSIONS_DIR}/*/*.txt"))) if knowledge_dir else 0
        reindex = _Stages(progress)
        if articles:
            assert knowledge_dir is not None  # the synthetic library written above
            publish_revision(knowledge_dir, Path(tmp) / "staging", "book000")
            engine, reindex_seconds = _timed(lambda: RulesEngine.from_settings(bench_settings, reindex))
        else:
            reindex_seconds = 0.0
        engine, reopen_seconds = _timed(lambda: RulesEngine.from_settings(bench_settings))
        first_answer_seconds = _first_answer_in_new_process(bench_settings, questions[0])
        latencies = [engine.ask(questions[i % len(questions)]).latency_ms for i in range(queries)]
        cpu_started = time.process_time()
        engine.ask(PASTED_PAGE)
        pasted_page_cpu_s = time.process_time() - cpu_started
    return BenchReport(
        books=books or len(engine.books),
        earlier_versions=earlier,
        articles=len(engine.corpus.articles),
        passages=len(engine.corpus.article_passages) + len(engine.corpus.sentence_passages),
        embedded=first.total.get(PASSAGES, 0),
        index_seconds=index_seconds,
        embed_seconds=first.seconds(PASSAGES),
        learn_seconds=first.seconds(EXAMPLES),
        reindex_seconds=reindex_seconds,
        reindex_embedded=reindex.total.get(PASSAGES, 0),
        reopen_seconds=reopen_seconds,
        first_answer_seconds=first_answer_seconds,
        query_p50_ms=float(np.percentile(latencies, 50)),
        query_p95_ms=float(np.percentile(latencies, 95)),
        pasted_page_cpu_s=pasted_page_cpu_s,
        rss_mb=_resident_mb(),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
