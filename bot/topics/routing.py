"""Who reviews and who decides a topic, by meeting type (Art. 49)."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Person
from bot.errors import InvalidInput
from bot.roster import holder

MEETING_TYPES = ("全体会议", "常务会议", "区长办公会议", "专题会议")


@dataclass(frozen=True)
class Stage:
    """One step of the chain: review (审核) or decide (确定), by one person."""

    role: str
    action: str
    person_id: int
    person_name: str


def chain(session: Session, meeting_type: str, deputy: Person | None) -> list[Stage]:
    """Art. 49: 全体会议 — set by the 区长 (or the 常务会议); 常务会议 / 区长办公会议 — reviewed by the
    分管副区长 and the 办公室主任, set by the 常务副区长 and the 区长; 专题会议 — reviewed by an
    办公室副主任, set by the 分管副区长."""
    head = holder(session, "区长")
    executive = holder(session, "常务副区长")
    director = holder(session, "办公室主任")
    vice_director = holder(session, "办公室副主任")
    if meeting_type == "全体会议":
        wanted = [("区长", "确定", head)]
    elif meeting_type in ("常务会议", "区长办公会议"):
        wanted = [
            ("分管副区长", "审核", deputy),
            ("办公室主任", "审核", director),
            ("常务副区长", "确定", executive),
            ("区长", "确定", head),
        ]
    elif meeting_type == "专题会议":
        wanted = [("办公室副主任", "审核", vice_director), ("分管副区长", "确定", deputy)]
    else:
        raise InvalidInput(f"没有这种会议：{meeting_type!r}")
    missing = [role for role, _, person in wanted if person is None]
    if missing:
        raise InvalidInput(f"花名册中没有{'、'.join(missing)}，无法按第四十九条流转。")
    stages: list[Stage] = []
    for role, action, person in wanted:
        assert person is not None
        # One person holding two roles of the chain (the 常务副区长 who is also the 分管副区长) acts
        # once, at the later stage, which says why: “常务副区长（兼分管副区长）”.
        earlier = [s.role for s in stages if s.person_id == person.id]
        stages = [s for s in stages if s.person_id != person.id]
        both = f"{role}（兼{'、'.join(earlier)}）" if earlier else role
        stages.append(Stage(both, action, person.id, person.name))
    return stages


def deputy_for(session: Session, department: str) -> Person | None:
    """The 副区长 (or 常务副区长) whose 分管 areas name the department, e.g. 财政 -> 区财政局."""
    deputies = session.scalars(
        select(Person).where(Person.position.in_(("常务副区长", "副区长")), Person.active).order_by(Person.id)
    )
    return next((d for d in deputies if any(area and area in department for area in d.areas)), None)
