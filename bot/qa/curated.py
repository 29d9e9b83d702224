"""The unanswered-question loop: what the bot could not answer goes to the office, and the office's
answer teaches the bot.

- The queue: declined questions, tentative answers and answers voted 👎, not yet answered by the
  office, grouped by similar wording with counts (`queue`).
- An admin answers a group with the article(s) it rests on and optionally a short explanation
  ("56 圈阅即表示同意"). That is one transition of the question (two admins at once: one wins); it
  becomes a curated answer, every asker in the group is told, and the group leaves the queue.
- Later questions close to a curated one (same wording, or close in meaning) are answered from it,
  marked 办公室答复 (`match`).
- A curated answer records a digest of its articles' text; when the rulebook changes one of them
  (a new version, knowledge.editions), it is flagged for review and no longer used, and the
  questions it answered are back in the queue (`flag_changed`). When an admin answers them again,
  their askers are told the office's new answer, marked as given after the revision.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from bot import plaintext
from bot.db import CuratedAnswer, Person, QuestionLog, utc
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.privacy import mask_numbers
from bot.qa.library import ARTICLE_NUMBER, ArticleView, RulebookLibrary
from bot.workflow import inputs, outbox
from bot.workflow.models import Subject
from bot.workflow.transitions import transition
from knowledge.numerals import chinese_to_int
from retrieval.engine import RulesEngine
from retrieval.examples import Examples

PREFIX = Subject.QUESTION
REPLY_PURPOSE = f"{PREFIX}:reply"
NOTICE = "qa.curated"
MAX_EXPLANATION = 300
# Two questions are the same question when they share this much of their character bigrams …
SAME_WORDING = 0.5
# … or when the embedder puts them this close: paraphrases measured 0.945 to 0.974, unrelated
# questions of this office at most 0.916.
SAME_MEANING = 0.94
_ARTICLE_LIST = re.compile(rf"^\s*((?:第?\s*(?:{ARTICLE_NUMBER})\s*条?\s*[、,，和及\s]*)+)(.*)$", re.S)
_ONE_NUMBER = re.compile(ARTICLE_NUMBER)


@dataclass(frozen=True)
class QueueGroup:
    """Similar questions waiting for the office, shown by their latest one."""

    log_id: int
    version: int
    question: str
    count: int
    asked_at: datetime
    # Answered once, but an article that answer rests on has since been revised.
    revised: bool = False


def _grams(text: str) -> set[str]:
    letters = "".join(c for c in plaintext.clean(text) if c.isalnum())
    return {letters[i : i + 2] for i in range(len(letters) - 1)} or {letters}


def same_wording(a: str, b: str) -> bool:
    first, second = _grams(a), _grams(b)
    return len(first & second) / len(first | second) >= SAME_WORDING


def same_question(engine: RulesEngine, a: str, b: str) -> bool:
    """Are these the same question, worded alike or close in meaning?"""
    return same_wording(a, b) or engine.question_similarity(a, b) >= SAME_MEANING


def _under_review() -> Select[int]:
    return select(CuratedAnswer.id).where(CuratedAnswer.needs_review.is_(True))


def _waiting(session: Session) -> list[QuestionLog]:
    """Questions for the office: never answered, or answered by an answer flagged for review."""
    return list(
        session.scalars(
            select(QuestionLog)
            .where(
                or_(QuestionLog.resolved_by_id.is_(None), QuestionLog.resolved_by_id.in_(_under_review())),
                QuestionLog.curated_answer_id.is_(None),
                or_(QuestionLog.declined, QuestionLog.tentative, QuestionLog.feedback == -1),
            )
            .order_by(QuestionLog.asked_at.desc(), QuestionLog.id.desc())
        )
    )


def queue(session: Session, engine: RulesEngine) -> list[QueueGroup]:
    """The unanswered queue, the largest groups first (questions masked: admins read them)."""
    groups: list[list[QuestionLog]] = []
    for row in _waiting(session):
        group = next((g for g in groups if same_question(engine, g[0].question, row.question)), None)
        if group is None:
            groups.append([row])
        else:
            group.append(row)
    groups.sort(key=lambda g: -len(g))
    return [
        QueueGroup(
            g[0].id,
            g[0].version,
            mask_numbers(g[0].question),
            len(g),
            g[0].asked_at,
            any(row.resolved_by_id is not None for row in g),
        )
        for g in groups
    ]


def _require_admin(person: Person) -> None:
    if not person.is_admin:
        raise PermissionDenied("只有办公室管理员可以查看和答复未能回答的问题。")


def await_reply(session: Session, admin: Person, log_id: int, version: int) -> QuestionLog:
    """The admin pressed 答复: their next text is the answer to this question."""
    _require_admin(admin)
    row = _current(session, log_id, version)
    inputs.expect_text(session, admin.id, REPLY_PURPOSE, row.id, row.version)
    return row


def _current(session: Session, log_id: int, version: int) -> QuestionLog:
    row = session.get(QuestionLog, log_id)
    if row is None:
        raise NotFound("这条问题已不在记录中（可能已过保存期限）。")
    if row.version != version or (row.resolved_by_id is not None and not _needs_review(session, row.resolved_by_id)):
        raise InvalidInput("这个问题已经答复过了。")
    return row


def _needs_review(session: Session, curated_id: int) -> bool:
    answer = session.get(CuratedAnswer, curated_id)
    return answer is None or answer.needs_review


def parse_reply(text: str, library: RulebookLibrary) -> tuple[list[ArticleView], str]:
    """ "56、58 圈阅即表示同意" -> the articles and the explanation (which may be empty)."""
    match = _ARTICLE_LIST.match(plaintext.clean(text))
    if match is None:
        raise InvalidInput("请先写依据的条号，再写说明，例如：56 圈阅即表示同意（说明可以不写）。")
    numbers = [chinese_to_int(n) for n in _ONE_NUMBER.findall(match[1])]
    views = [_article(library, number) for number in dict.fromkeys(numbers)]
    explanation = match[2].strip(" ：:，,。")
    if len(explanation) > MAX_EXPLANATION:
        raise InvalidInput(f"说明最多 {MAX_EXPLANATION} 个字，现在有 {len(explanation)} 个字。")
    return views, explanation


def _article(library: RulebookLibrary, number: int) -> ArticleView:
    """Article `number` of the first rulebook that has it."""
    for rulebook_id, book in library.by_id.items():
        if number >= 1 and book.article(number) is not None:
            return library.article(rulebook_id, number)
    raise InvalidInput(f"规则中没有第{number}条，请检查条号。")


def digest(views: Iterable[ArticleView]) -> str:
    return hashlib.sha256(
        "\n".join(f"{v.book.key}#{v.article.number}:{v.article.text}" for v in views).encode()
    ).hexdigest()


def key(view: ArticleView) -> str:
    return f"{view.book.key}#{view.article.number}"


def as_examples(session: Session) -> Examples:
    """The office's answers as examples for the rules engine to learn from (those waiting for
    review after their article changed are left out)."""
    answers = session.scalars(
        select(CuratedAnswer).where(CuratedAnswer.needs_review.is_(False)).order_by(CuratedAnswer.id)
    ).all()
    return Examples([a.question for a in answers], [[_split(k) for k in a.articles] for a in answers])


def _split(article_key: str) -> tuple[str, int]:
    book_key, _, number = article_key.rpartition("#")
    return book_key, int(number)


def views_of(library: RulebookLibrary, keys: Iterable[str]) -> list[ArticleView]:
    """The articles a curated answer cites (NotFound if the rulebook no longer has one)."""
    views = []
    for book_key, number in map(_split, keys):
        if book_key not in library.id_of:
            raise NotFound(f"规则库中已没有 {book_key!r}。")
        views.append(library.article(library.id_of[book_key], number))
    return views


def answer_from_queue(
    session: Session,
    engine: RulesEngine,
    library: RulebookLibrary,
    admin: Person,
    log_id: int,
    version: int,
    text: str,
    now: datetime,
) -> int:
    """The office answers a question of the queue: a curated answer, every asker of the group told;
    how many people were told."""
    _require_admin(admin)
    row = _current(session, log_id, version)
    views, explanation = parse_reply(text, library)
    transition(session, row, version, lambda r: "这个问题已经答复过了。")
    curated = CuratedAnswer(
        question=row.question,
        articles=[key(v) for v in views],
        explanation=explanation,
        created_by_id=admin.id,
        articles_digest=digest(views),
        needs_review=False,
    )
    session.add(curated)
    session.flush()
    group = {m.id: m for m in _waiting(session) if same_question(engine, m.question, row.question)} | {row.id: row}
    told: set[str] = set()
    for member in group.values():
        # Answered before by an answer the revision of its articles put under review.
        revised = member.resolved_by_id is not None
        member.resolved_by_id = curated.id
        # Told where they asked: their WeCom account, else their Telegram chat.
        if member.wecom_userid is not None:
            asker = outbox.member_recipient(member.wecom_userid)
        elif member.telegram_user_id is not None:
            asker = outbox.chat_recipient(member.telegram_user_id)
        else:
            continue
        if asker in told:
            continue  # someone who asked twice is told once
        told.add(asker)
        outbox.notice(
            session,
            asker,
            NOTICE,
            now,
            key=f"{NOTICE}:{member.id}:{curated.id}" if revised else f"{NOTICE}:{member.id}",
            revised=revised,
            log_id=member.id,
            curated_id=curated.id,
            citations=[v.citation for v in views],
            labels=[v.article.label for v in views],
            articles=[[v.rulebook_id, v.article.number] for v in views],
        )
    inputs.clear_target(session, PREFIX, row.id)
    return len(told)


def match(session: Session, engine: RulesEngine, question: str) -> CuratedAnswer | None:
    """The curated answer to a question like this one (like the question it answered, or any of the
    questions it took off the queue), if the office has given one."""
    answers = {c.id: c for c in session.scalars(select(CuratedAnswer).where(CuratedAnswer.needs_review.is_(False)))}
    variants = [(c.id, c.question) for c in answers.values()]
    resolved = session.execute(
        select(QuestionLog.resolved_by_id, QuestionLog.question).where(QuestionLog.resolved_by_id.in_(answers))
    ).all()
    variants += [(answer_id, text) for answer_id, text in resolved if answer_id is not None]  # in_(): never None
    best: tuple[float, int] | None = None
    for answer_id, variant in variants:
        if same_wording(variant, question):
            return answers[answer_id]
        closeness = engine.question_similarity(variant, question)
        if closeness >= SAME_MEANING and (best is None or closeness > best[0]):
            best = (closeness, answer_id)
    return answers[best[1]] if best else None


def flag_changed(session: Session, library: RulebookLibrary) -> int:
    """Flag curated answers whose articles changed (or are gone) since they were given; how many."""
    flagged = 0
    for curated in session.scalars(select(CuratedAnswer).where(CuratedAnswer.needs_review.is_(False))):
        try:
            unchanged = digest(views_of(library, curated.articles)) == curated.articles_digest
        except NotFound:
            unchanged = False
        if not unchanged:
            curated.needs_review = True
            flagged += 1
    return flagged


def export_jsonl(session: Session) -> str:
    """Every curated answer as one JSON line, for another installation (`zhengwu export-answers`)."""
    rows = session.scalars(select(CuratedAnswer).order_by(CuratedAnswer.id))
    return "".join(
        json.dumps(
            {
                "question": c.question,
                "articles": c.articles,
                "explanation": c.explanation,
                "created_at": utc(c.created_at).isoformat(),
            },
            ensure_ascii=False,
        )
        + "\n"
        for c in rows
    )


def import_jsonl(session: Session, text: str, library: RulebookLibrary) -> int:
    """Add the curated answers of an export (skipping ones already here); how many were added."""
    known = {(c.question, tuple(c.articles)) for c in session.scalars(select(CuratedAnswer))}
    added = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            question, articles = str(entry["question"]), [str(a) for a in entry["articles"]]
            explanation = str(entry.get("explanation", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"line {number}: expected question, articles, explanation, got {line[:80]!r}") from exc
        if (question, tuple(articles)) in known:
            continue
        views = views_of(library, articles)
        session.add(
            CuratedAnswer(
                question=question,
                articles=articles,
                explanation=explanation,
                articles_digest=digest(views),
                needs_review=False,
            )
        )
        known.add((question, tuple(articles)))
        added += 1
    return added
