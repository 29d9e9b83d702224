"""Signing in without passwords: /console in a private chat gives a link that works once, for ten
minutes, and starts a browser session; every form carries the session's CSRF token. Opening the link
only shows a page (a link-preview fetcher must not use it up); its button (a POST) signs in.
Calendar feeds have secret addresses of their own, which their owner can revoke. Only hashes of
secrets are kept.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.console.models import CalendarFeed, ConsoleLogin, ConsoleSession
from bot.db import Person, rows_changed, utc
from bot.errors import NotFound, PermissionDenied

LOGIN_VALID = timedelta(minutes=10)
SESSION_VALID = timedelta(hours=8)
REFUSED_LINK = "登录链接无效、已过期或已经用过。请在与机器人的私聊中重新发送 /console。"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_login(session: Session, person: Person, now: datetime) -> str:
    """A one-time login token for `person`."""
    token = secrets.token_urlsafe(32)
    session.add(ConsoleLogin(token_hash=_hash(token), person_id=person.id, expires_at=utc(now) + LOGIN_VALID))
    return token


def login_person(session: Session, token: str, now: datetime) -> Person:
    """Whom a login token would sign in, without using it up; refused as redeem_login refuses."""
    login = session.get(ConsoleLogin, _hash(token))
    if login is None or login.used_at is not None or utc(login.expires_at) <= utc(now):
        raise PermissionDenied(REFUSED_LINK)
    person = session.get(Person, login.person_id)
    assert person is not None
    return person


def redeem_login(session: Session, token: str, now: datetime) -> str:
    """Use a login token (once, before it expires) for a new session; the session's secret id."""
    token_hash = _hash(token)
    used = rows_changed(
        session,
        update(ConsoleLogin)
        .where(
            ConsoleLogin.token_hash == token_hash,
            ConsoleLogin.used_at.is_(None),
            ConsoleLogin.expires_at > utc(now),
        )
        .values(used_at=utc(now))
        .execution_options(synchronize_session=False),
    )
    if used != 1:
        raise PermissionDenied(REFUSED_LINK)
    login = session.get(ConsoleLogin, token_hash)
    assert login is not None
    session_id = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id_hash=_hash(session_id),
            person_id=login.person_id,
            csrf=secrets.token_urlsafe(24),
            expires_at=utc(now) + SESSION_VALID,
        )
    )
    return session_id


def signed_in(session: Session, session_id: str | None, now: datetime) -> ConsoleSession | None:
    """The live session a cookie names, or None."""
    if not session_id:
        return None
    found = session.get(ConsoleSession, _hash(session_id))
    if found is None or utc(found.expires_at) <= utc(now) or not found.person.active:
        return None
    return found


def check_csrf(console_session: ConsoleSession, token: str | None) -> None:
    if not token or not hmac.compare_digest(console_session.csrf, token):
        raise PermissionDenied("表单已失效，请刷新页面后重试。")


def sign_out(session: Session, session_id: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _hash(session_id)))


def create_feed(session: Session, person: Person) -> str:
    """A new secret calendar address for `person`; the token is shown once."""
    token = secrets.token_urlsafe(24)
    session.add(CalendarFeed(person_id=person.id, token_hash=_hash(token)))
    return token


def revoke_feed(session: Session, person: Person, feed_id: int, now: datetime) -> None:
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or feed.person_id != person.id:
        raise NotFound("找不到这个订阅。")
    feed.revoked_at = utc(now)


def feeds_of(session: Session, person: Person) -> list[CalendarFeed]:
    return list(
        session.scalars(
            select(CalendarFeed)
            .where(CalendarFeed.person_id == person.id, CalendarFeed.revoked_at.is_(None))
            .order_by(CalendarFeed.id)
        )
    )


def feed_owner(session: Session, token: str) -> Person | None:
    """Whose live feed this token opens (None: unknown or revoked)."""
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token)))
    if feed is None or feed.revoked_at is not None or not feed.person.active:
        return None
    return feed.person
