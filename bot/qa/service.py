"""Answering questions: ask the rules engine, log the exchange, record feedback, report stats."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import Person, QuestionLog, utcnow
from bot.errors import InvalidInput, NotFound, PermissionDenied
from bot.privacy import mask_numbers
from bot.qa import curated
from bot.qa.actions import Action, actions_for
from bot.qa.library import ArticleView, RulebookLibrary
from bot.roster import person_for
from retrieval.answer import Answer, Citation, Quote
from retrieval.corpus import ArticleRef
from retrieval.engine import RulesEngine


@dataclass(frozen=True)
class LoggedAnswer:
    """An answer and the id of its log row (buttons refer to it)."""

    log_id: int
    answer: Answer
    cited: tuple[ArticleView, ...]
    # Answered from the office's curated answer: its explanation ("" when it gave none).
    office_note: str | None = None
    # A hedge's further candidates, offered as buttons.
    offered: tuple[ArticleView, ...] = ()
    # The workflows the cited articles lead to (📝 请假报备 under Art. 79 …).
    actions: tuple[Action, ...] = ()


def _key(citation: Citation) -> str:
    return f"{citation.rulebook_key}#{citation.article_number}"


def _views(library: RulebookLibrary, citations: tuple[Citation, ...]) -> tuple[ArticleView, ...]:
    return tuple(library.article(library.id_of[c.rulebook_key], c.article_number) for c in citations)


@dataclass(frozen=True)
class Asker:
    """Who asked, where, as the question log keeps it: a Telegram account and chat, or a WeCom member."""

    telegram_user_id: int | None = None
    chat_id: int | None = None
    wecom_userid: str | None = None


def answer_question(
    session: Session, engine: RulesEngine, library: RulebookLibrary, telegram_user_id: int, chat_id: int, question: str
) -> LoggedAnswer:
    """Answer and log one question asked in Telegram; committed before returning."""
    person = person_for(session, telegram_user_id)
    return answer_as(session, engine, library, person, Asker(telegram_user_id, chat_id), question)


def answer_as(
    session: Session,
    engine: RulesEngine,
    library: RulebookLibrary,
    person: Person | None,
    asker: Asker,
    question: str,
) -> LoggedAnswer:
    """Answer and log one question of `person` (None: someone not on the roster), from the office's
    curated answers first, whatever channel it came by; committed before returning."""
    office = curated.match(session, engine, question)
    if office is not None:
        answer = _from_office(question, curated.views_of(library, office.articles))
    else:
        answer = engine.ask(question, person.position if person else None)
    row = QuestionLog(
        telegram_user_id=asker.telegram_user_id,
        person_id=person.id if person else None,
        chat_id=asker.chat_id,
        wecom_userid=asker.wecom_userid,
        question=question,
        cited=[_key(c) for c in answer.citations],
        related=[_key(c) for c in answer.related],
        scores=[round(c.score, 4) for c in answer.citations],
        declined=answer.declined,
        tentative=answer.tentative,
        latency_ms=round(answer.latency_ms, 2),
        curated_answer_id=office.id if office else None,
    )
    session.add(row)
    session.commit()
    note = office.explanation if office else None
    offered = _views(library, answer.related) if answer.tentative else ()
    return LoggedAnswer(row.id, answer, _views(library, answer.citations), note, offered, actions_for(answer))


def _from_office(question: str, views: list[ArticleView]) -> Answer:
    quotes = tuple(Quote(Citation.of(ArticleRef(v.book, v.article), 1.0), (v.article.text,), True) for v in views)
    return Answer(question, quotes, False)


def related_articles(
    session: Session, library: RulebookLibrary, log_id: int, telegram_user_id: int, chat_id: int
) -> tuple[ArticleView, ...]:
    """The further articles retrieval ranked for a logged question: for its asker, or in the chat
    it was asked in (where the answer with its 🔗 button is); they tell what someone asked about."""
    row = session.get(QuestionLog, log_id)
    if row is None:
        raise NotFound("找不到这条问答记录。")
    if telegram_user_id != row.telegram_user_id and chat_id != row.chat_id:
        raise PermissionDenied("只有提问的人可以查看这个问题的相关条文。")
    views = []
    for key in row.related:
        book_key, _, number = key.rpartition("#")
        if book_key in library.id_of:
            views.append(library.article(library.id_of[book_key], int(number)))
    return tuple(views)


FEEDBACK_REASONS = {"article": "条文不对", "missed": "没回答问题", "other": "其他"}


def record_feedback(session: Session, log_id: int, telegram_user_id: int, value: int) -> bool:
    """Store 👍 (1) or 👎 (-1) from the asker (a second vote replaces the first); False if it was
    already that value."""
    row = _own_log(session, log_id, telegram_user_id)
    if row.feedback == value:
        return False
    row.feedback, row.feedback_reason = value, None
    return True


def record_feedback_reason(session: Session, log_id: int, telegram_user_id: int, reason: str) -> None:
    """Why the asker voted 👎 (one of FEEDBACK_REASONS)."""
    row = _own_log(session, log_id, telegram_user_id)
    if reason not in FEEDBACK_REASONS or row.feedback != -1:
        raise InvalidInput("这个按钮已失效。")
    row.feedback_reason = reason


def asked_by(session: Session, log_id: int, telegram_user_id: int) -> str:
    """The question of a logged answer, for its asker only (the workflow buttons under it)."""
    row = session.get(QuestionLog, log_id)
    if row is None:
        raise NotFound("找不到这条问答记录。")
    if row.telegram_user_id != telegram_user_id:
        raise PermissionDenied("这个按钮只对提问的人有效。")
    return row.question


def _own_log(session: Session, log_id: int, telegram_user_id: int) -> QuestionLog:
    row = session.get(QuestionLog, log_id, with_for_update=True)
    if row is None:
        raise NotFound("找不到这条问答记录。")
    if row.telegram_user_id != telegram_user_id:
        raise PermissionDenied("只有提问的人可以评价这个回答。")
    return row


@dataclass(frozen=True)
class QuestionStats:
    """What /stats shows an admin."""

    total: int
    declined: int
    tentative: int
    mean_latency_ms: float
    thumbs_up: int
    thumbs_down: int
    disliked: list[str]
    top_unanswered: list[tuple[str, int]]

    @property
    def decline_rate(self) -> float:
        return self.declined / self.total if self.total else 0.0


def question_stats(session: Session, days: int = 30, limit: int = 5) -> QuestionStats:
    since = utcnow() - timedelta(days=days)
    recent = QuestionLog.asked_at >= since
    total, declined, tentative, latency, up, down = session.execute(
        select(
            func.count(),
            func.count().filter(QuestionLog.declined),
            func.count().filter(QuestionLog.tentative),
            func.coalesce(func.avg(QuestionLog.latency_ms), 0.0),
            func.count().filter(QuestionLog.feedback == 1),
            func.count().filter(QuestionLog.feedback == -1),
        ).where(recent)
    ).one()
    disliked = session.scalars(
        select(QuestionLog.question)
        .where(recent, QuestionLog.feedback == -1)
        .order_by(QuestionLog.id.desc())
        .limit(limit)
    ).all()
    unanswered = session.execute(
        select(QuestionLog.question, func.count().label("n"))
        .where(recent, QuestionLog.declined)
        .group_by(QuestionLog.question)
        .order_by(func.count().desc(), QuestionLog.question)
        .limit(limit)
    ).all()
    # Admins see what people asked, but not the ID-card and phone numbers some of them typed.
    masked_unanswered = [(mask_numbers(q), n) for q, n in unanswered]
    return QuestionStats(
        total, declined, tentative, float(latency), up, down, [mask_numbers(q) for q in disliked], masked_unanswered
    )
