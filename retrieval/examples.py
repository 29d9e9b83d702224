"""Labelled questions the engine learns from: the shipped tuning sets, the catalogue of subjects
the rules do not cover, and the office's own answers to questions the bot could not answer.

Only tuning sets are examples. The held-out sets (`retrieval/questions/heldout*.jsonl`) are never
read here: a set the engine has learned from can no longer say how well it generalizes.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from knowledge.library import SHIPPED_DIR
from retrieval.asked import asked_detail

QUESTIONS_DIR = Path(__file__).parent / "questions"
EXAMPLE_FILES = tuple(
    QUESTIONS_DIR / name
    for name in (
        "office_questions.jsonl",
        "paraphrase_questions.jsonl",
        "colloquial_questions.jsonl",
        "situation_questions.jsonl",
        "clause_questions.jsonl",
    )
)
OUT_OF_SCOPE_SUBJECTS = Path(__file__).parent / "out_of_scope.txt"
# The shipped question sets name article numbers of the shipped rulebook; with another rulebook
# they teach nothing about its articles (the out-of-scope ones still apply).
EXAMPLES_RULEBOOK = next(SHIPPED_DIR.glob("*.txt")).stem
ArticleKey = tuple[str, int]  # (rulebook key, article number)


@dataclass(frozen=True)
class Examples:
    """Questions with the articles that answer them; an empty list means out of scope."""

    questions: list[str]
    articles: list[list[ArticleKey]]

    def subset(self, indices: list[int]) -> "Examples":
        return Examples([self.questions[i] for i in indices], [self.articles[i] for i in indices])

    def __add__(self, other: "Examples") -> "Examples":
        return Examples(self.questions + other.questions, self.articles + other.articles)

    def text(self) -> str:
        """Everything that shapes what is learned, for cache keys."""
        return "\n".join(f"{q}\t{a}" for q, a in zip(self.questions, self.articles, strict=True))


def load_questions(path: Path) -> list[dict]:
    """A JSONL question set: one {"question": str, "articles": [int]} per line."""
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


def out_of_scope_subjects() -> list[str]:
    lines = OUT_OF_SCOPE_SUBJECTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_example(entry: dict) -> bool:
    """An out-of-scope question that asks for a number ("副区长离包外出要提前几天请示？") is no example:
    its subject is often one the rules govern, and as an out-of-scope neighbour it would pull every
    question on that subject towards a decline. The number is the detail check's (retrieval.asked)."""
    return bool(entry["articles"]) or asked_detail(entry["question"]) is None


def examples_of(entries: list[dict]) -> Examples:
    """Question-set entries that are examples (articles of the shipped rulebook) and the
    out-of-scope subjects."""
    entries = [e for e in entries if is_example(e)]
    subjects = out_of_scope_subjects()
    return Examples(
        [e["question"] for e in entries] + subjects,
        [[(EXAMPLES_RULEBOOK, n) for n in e["articles"]] for e in entries] + [[]] * len(subjects),
    )


def load_examples() -> Examples:
    return examples_of([entry for path in EXAMPLE_FILES for entry in load_questions(path)])
