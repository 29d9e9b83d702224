"""What a decrypted WeCom callback says: a member's message or an event, and the key that makes a
retried delivery of it recognisable (the platform retries what it thinks went unanswered)."""

import hashlib
from dataclasses import dataclass

from bot.errors import MalformedCallback
from bot.wecom.crypto import callback_xml


@dataclass(frozen=True)
class Inbound:
    """One callback's message (MsgType text, image, voice …) or event (MsgType event)."""

    msg_type: str
    from_user: str  # the member's account (userid)
    create_time: int
    agent_id: str = ""
    msg_id: str | None = None
    content: str | None = None  # text messages
    event: str | None = None  # template_card_event, enter_agent …
    event_key: str | None = None  # the pressed button's key
    task_id: str | None = None  # the template card's task id
    response_code: str | None = None  # lets the card just pressed be updated once

    @property
    def dedupe_key(self) -> str:
        """Messages carry a MsgId; events do not, so sender, time, kind, key, card and the press's
        own response code stand for one (two presses in one second are two events)."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        parts = "\x1f".join(
            [
                self.from_user,
                str(self.create_time),
                self.event or "",
                self.event_key or "",
                self.task_id or "",
                self.response_code or "",
            ]
        )
        # Hashed: the parts are the platform's and may be long; the key column is not.
        return "event:" + hashlib.sha256(parts.encode()).hexdigest()


def parse_inbound(plaintext: str) -> Inbound:
    """The callback's decrypted XML as an Inbound; MalformedCallback when a documented part is missing."""
    root = callback_xml(plaintext, "decrypted callback")

    def text(tag: str) -> str | None:
        value = root.findtext(tag)
        return value.strip() if value is not None and value.strip() else None

    msg_type, from_user, create_time = text("MsgType"), text("FromUserName"), text("CreateTime")
    if msg_type is None or from_user is None or create_time is None:
        raise MalformedCallback("decrypted callback lacks MsgType, FromUserName or CreateTime")
    try:
        created = int(create_time)
    except ValueError:
        raise MalformedCallback(f"CreateTime {create_time!r} is not a number") from None
    return Inbound(
        msg_type=msg_type,
        from_user=from_user,
        create_time=created,
        agent_id=text("AgentID") or "",
        msg_id=text("MsgId"),
        # A message's text is kept as typed (spaces included); cleaning is the answering side's job.
        content=root.findtext("Content"),
        event=text("Event"),
        event_key=text("EventKey"),
        task_id=text("TaskId"),
        response_code=text("ResponseCode"),
    )
