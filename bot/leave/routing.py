"""Who approves a leave and who acts meanwhile, by the rules (Art. 79, 51, 9) and the roster."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Person
from bot.roster import holder

KINDS = ("离包外出", "出国（境）", "休假", "病假", "事假", "会议请假")
TRAVEL_KINDS = ("离包外出", "出国（境）")
MEETINGS = ("全体会议", "常务会议", "区长办公会议")
# Art. 79 names these for 离包外出 and 请销假; Art. 51 counts them among those who ask the chair.
LEADERS = ("常务副区长", "副区长", "办公室主任", "部门主要负责人")
OFFICE = "区政府办公室"


@dataclass(frozen=True)
class Route:
    """The approver (None: a report to file, no approval needed), the article, and why."""

    approver: Person | None
    article: int | None
    basis: str


def route(session: Session, requester: Person, kind: str, meeting: str | None) -> Route:
    """Apply the rules in order: meetings (Art. 51), the 区长 himself (Art. 9), leaders (Art. 79), staff."""
    head = holder(session, "区长")
    director = holder(session, "办公室主任")
    if kind == "会议请假":
        if requester.position == "区长":
            return Route(
                None, 45, "区长不能出席时，由受委托的常务副区长召集和主持会议（第四十五、四十六条），报办公室备案即可。"
            )
        if requester.position in LEADERS:
            return Route(head, 51, f"不能出席{meeting}的，应向会议主持人（区长）请假（第五十一条）。")
        return Route(director, 51, f"其他人员不能出席或列席{meeting}的，应向办公室主任请假（第五十一条）。")
    if requester.position == "区长":
        return Route(None, 9, "区长外出期间，受区长委托由常务副区长主持区政府工作（第九条），报办公室备案即可。")
    if requester.position in LEADERS:
        basis = {
            "离包外出": "副区长、办公室主任和各部门主要负责人离包外出，须事先向区长请示，经批准方可出行（第七十九条）。",
            "出国（境）": "出国（境）须按外事工作有关规定报批，并向区长请假报告（第七十九条）。",
        }.get(kind, "区政府组成人员严格执行请销假制度，向区长请假（第七十九条）。")
        return Route(head, 79, basis)
    department_head = None
    if requester.department and requester.department != OFFICE:
        department_head = holder(session, "部门主要负责人", requester.department)
    approver = department_head or director
    who = "本部门主要负责人" if department_head else "办公室主任"
    return Route(approver, None, f"工作规则未规定一般工作人员的请假审批，按单位请销假制度由{who}审批。")


def default_acting(session: Session, requester: Person) -> Person | None:
    """The AB partner (Art. 79); for the 区长, the 常务副区长 (Art. 9)."""
    if requester.position == "区长":
        return holder(session, "常务副区长")
    if requester.ab_partner_name:
        return session.scalar(select(Person).where(Person.name == requester.ab_partner_name, Person.active))
    return None
