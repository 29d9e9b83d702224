"""The staff roster: loaded from its file into the database, and Telegram account binding.

A WeCom member is bound by the roster itself (`wecom_userid`, the 账号 the corporation gives its
members): there is no invite in WeCom, the corporation already vouches for who a member is."""

import hashlib
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import InviteCode, Person, utc
from bot.errors import InvalidInput, NotFound, NotRegistered, PermissionDenied, RosterError


class Position(StrEnum):
    """The positions the rules speak of (and the roster may name)."""

    HEAD = "区长"
    EXECUTIVE_DEPUTY = "常务副区长"
    DEPUTY = "副区长"
    OFFICE_DIRECTOR = "办公室主任"
    OFFICE_VICE_DIRECTOR = "办公室副主任"
    DEPARTMENT_HEAD = "部门主要负责人"
    STAFF = "工作人员"


POSITIONS = tuple(Position)
# What WeCom accepts as a member's account (userid).
WECOM_USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


@dataclass(frozen=True)
class RosterEntry:
    """One person as written in the roster file."""

    name: str
    position: str
    department: str | None = None
    areas: list[str] = field(default_factory=list)
    ab_partner: str | None = None
    telegram_id: int | None = None
    wecom_userid: str | None = None
    admin: bool = False


def read_roster(path: Path) -> list[RosterEntry]:
    """Parse and validate the roster file; errors name the file and the entry."""
    try:
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RosterError(f"roster file not found: {str(path)!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RosterError(f"{path}: not valid TOML: {exc}") from None
    entries: list[RosterEntry] = []
    for number, raw in enumerate(tree.get("person", []), start=1):
        where = f"{path} person #{number}"
        unknown = set(raw) - set(RosterEntry.__dataclass_fields__) - {"telegram_id"}
        if unknown:
            raise RosterError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        if not isinstance(raw.get("name"), str) or not raw["name"].strip():
            raise RosterError(f"{where}: 'name' is required")
        if raw.get("position") not in POSITIONS:
            raise RosterError(f"{where}: position {raw.get('position')!r} is not one of {', '.join(POSITIONS)}")
        userid = raw.get("wecom_userid")
        if userid is not None and (not isinstance(userid, str) or not WECOM_USERID.fullmatch(userid)):
            raise RosterError(
                f"{where}: wecom_userid {userid!r} is not a WeCom account (1-64 letters, digits, _ - . @)"
            )
        entries.append(RosterEntry(**raw))
    names = [e.name for e in entries]
    for entry in entries:
        if names.count(entry.name) > 1:
            raise RosterError(f"{path}: name {entry.name!r} appears twice")
        if entry.ab_partner and entry.ab_partner not in names:
            raise RosterError(f"{path}: {entry.name!r} has AB partner {entry.ab_partner!r}, who is not on the roster")
    ids = [e.telegram_id for e in entries if e.telegram_id is not None]
    if len(ids) != len(set(ids)):
        raise RosterError(f"{path}: a telegram_id is given to two people")
    # WeCom compares accounts without regard to case.
    userids = [e.wecom_userid.lower() for e in entries if e.wecom_userid is not None]
    if len(userids) != len(set(userids)):
        raise RosterError(f"{path}: a wecom_userid is given to two people")
    return entries


def sync_roster(session: Session, entries: list[RosterEntry]) -> None:
    """Make the people table match the roster; bindings made by invite survive a sync."""
    existing = {p.name: p for p in session.scalars(select(Person))}
    listed = {e.name for e in entries}
    for person in existing.values():
        person.active = person.name in listed
    roster_ids = {e.telegram_id for e in entries if e.telegram_id is not None}
    for person in existing.values():
        # An id the roster now gives to someone else moves to them.
        if person.telegram_user_id in roster_ids and person.name not in {
            e.name for e in entries if e.telegram_id == person.telegram_user_id
        }:
            person.telegram_user_id = None
        # WeCom accounts come from the roster alone: cleared first, so that one may move to another person.
        person.wecom_userid = None
    session.flush()
    for entry in entries:
        person = existing.get(entry.name) or Person(name=entry.name)
        person.position = entry.position
        person.department = entry.department
        person.areas = list(entry.areas)
        person.ab_partner_name = entry.ab_partner
        person.is_admin = entry.admin
        person.active = True
        if entry.telegram_id is not None:
            person.telegram_user_id = entry.telegram_id
        person.wecom_userid = entry.wecom_userid.lower() if entry.wecom_userid else None
        session.add(person)
    session.flush()


def holder(session: Session, position: str, department: str | None = None) -> Person | None:
    """The active person holding a position (in a department, if given)."""
    query = select(Person).where(Person.position == position, Person.active)
    if department is not None:
        query = query.where(Person.department == department)
    return session.scalars(query.order_by(Person.id)).first()


def departments(session: Session, *, active_only: bool = False) -> list[str]:
    """The roster's departments, sorted (of its active members only, when asked)."""
    query = select(Person.department).where(Person.department.is_not(None))
    if active_only:
        query = query.where(Person.active)
    return sorted({d for d in session.scalars(query) if d is not None})


def person_for(session: Session, telegram_user_id: int) -> Person | None:
    """The active roster person bound to a Telegram account, if any."""
    return session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id, Person.active))


def person_for_wecom(session: Session, wecom_userid: str) -> Person | None:
    """The active roster person with this WeCom account (the roster's wecom_userid), if any."""
    return session.scalar(select(Person).where(Person.wecom_userid == wecom_userid.lower(), Person.active))


def require_person(session: Session, telegram_user_id: int) -> Person:
    """The bound person, or NotRegistered with what to do about it."""
    person = person_for(session, telegram_user_id)
    if person is None:
        raise NotRegistered("您的账号还没有绑定工作人员花名册，不能使用这项功能。请向办公室索取邀请链接后再试。")
    return person


def require_admin(session: Session, telegram_user_id: int) -> Person:
    """The bound person if they are an admin on the roster."""
    person = require_person(session, telegram_user_id)
    if not person.is_admin:
        raise PermissionDenied("只有管理员可以查看这项内容；如需查看，请联系办公室在花名册中设为管理员。")
    return person


def _invite_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_invite(session: Session, name: str, now: datetime, valid: timedelta) -> str:
    """A fresh one-time code for the named person, usable for `valid` from `now`."""
    person = session.scalar(select(Person).where(Person.name == name, Person.active))
    if person is None:
        raise NotFound(f"花名册中没有 {name!r}")
    code = secrets.token_urlsafe(12)
    session.add(InviteCode(code_hash=_invite_hash(code), person_id=person.id, expires_at=utc(now) + valid))
    session.flush()
    return code


def redeem_invite(session: Session, code: str, telegram_user_id: int, now: datetime) -> Person:
    """Bind the account to the invite's person; a code works once, before it expires."""
    invite = session.get(InviteCode, _invite_hash(code), with_for_update=True)
    if invite is None or invite.used_at is not None or utc(invite.expires_at) <= utc(now):
        raise InvalidInput("邀请链接无效、已过期或已被使用，请向办公室重新索取。")
    already = person_for(session, telegram_user_id)
    if already is not None and already.id != invite.person_id:
        raise InvalidInput(f"这个账号已绑定为 {already.name}，不能再绑定为他人。")
    person = invite.person
    person.telegram_user_id = telegram_user_id
    invite.used_at = utc(now)
    invite.used_by_telegram_id = telegram_user_id
    session.flush()
    return person
