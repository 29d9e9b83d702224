"""The delivery loop's WeCom side (bot.delivery.Channel).

- A person is their `wecom_userid` (someone not on the roster, their account: "member:<userid>");
  a configured group is its application group chat
  ([wecom.groups], sent with appchat/send); a chat known only by a Telegram id is nobody here.
- A view with buttons goes to a member as a button_interaction template card whose buttons carry
  the typed action (bot.wecom.render.template_card); anything else as markdown. Only buttons whose
  action WeCom can run (the features' card actions) are shown. A group chat cannot show a template
  card (appchat sends text and markdown): groups get markdown.
- A card's handle is "<task_id> <response_code>". A response code updates the card it came with
  once (update_template_card) and expires after 72 hours; message/send gives one, and so does each
  press of the card's buttons (the adapter keeps it on the card). A redraw with a used, expired or
  missing code sends the card again as a new message instead.
- A redraw showing what the card already shows is not sent (as Telegram answers "not modified"):
  a decision may queue more than one redraw, and without a code each would be a new message.
- A group message cannot be edited: it has no handle, so it is never redrawn.
"""

import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from bot.config import WeComSettings
from bot.db import Person
from bot.delivery import MaybeSent, Refused, RetryLater
from bot.errors import WeComApiError, WeComApiFailed
from bot.views import View
from bot.wecom import render
from bot.wecom.adapter import RETRY_ERRCODES, RecipientPacer
from bot.wecom.api import WeComApi
from bot.wecom.render import card_handle, parse_handle
from bot.workflow.outbox import Recipient, parse_recipient

log = logging.getLogger(__name__)
# errcode 40058 on update_template_card: the response code was used already or has expired.
CODE_USED = 40058


@dataclass(frozen=True)
class Member:
    userid: str


@dataclass(frozen=True)
class GroupChat:
    chatid: str


class WeComChannel:
    def __init__(
        self,
        api: WeComApi,
        settings: WeComSettings,
        agent_id: int,
        pacer: RecipientPacer,
        pressable: Collection[str],
    ) -> None:
        self.api, self.settings, self.agent_id, self.pacer = api, settings, agent_id, pacer
        # The button prefixes a press can be run for (bot.views.Workflows.actions).
        self.pressable = frozenset(pressable)
        # What each card (by task id) shows now, as this process drew it.
        self._showing: dict[str, View] = {}

    def address(self, session: Session, recipient: Recipient) -> Member | GroupChat | None:
        kind, ref = parse_recipient(recipient)
        if kind == "person" and ref.isdigit():
            person = session.get(Person, int(ref))
            return Member(person.wecom_userid) if person is not None and person.wecom_userid else None
        if kind == "group" and ref in self.settings.groups:
            return GroupChat(self.settings.groups[ref])
        if kind == "member":
            return Member(ref)
        return None

    def describe(self, session: Session, recipient: Recipient) -> str:
        return f"未登记的会话（{parse_recipient(recipient)[1]}）"

    def _shown(self, view: View) -> View:
        rows = (tuple(b for b in row if b.action.pack().split(":")[0] in self.pressable) for row in view.buttons)
        return replace(view, buttons=tuple(row for row in rows if row))

    async def send(self, address: Member | GroupChat, view: View) -> str | None:
        view = self._shown(view)
        if isinstance(address, GroupChat):
            for part in _markdown({"chatid": address.chatid}, view):
                await self._call("/cgi-bin/appchat/send", part)
            return None
        message: dict[str, Any] = {"touser": address.userid, "agentid": self.agent_id}
        if not view.buttons:
            for part in _markdown(message, view):
                await self.pacer.wait_turn(address.userid)
                await self._call("/cgi-bin/message/send", part)
            return None
        await self.pacer.wait_turn(address.userid)
        task_id = secrets.token_hex(16)  # unique for the application, as the platform requires
        card = {**message, "msgtype": "template_card", "template_card": render.template_card(view, task_id)}
        answer = await self._call("/cgi-bin/message/send", card)
        self._showing[task_id] = view
        return card_handle(task_id, answer.get("response_code"))

    async def edit(self, address: Member | GroupChat, handle: str, view: View) -> str | None:
        if isinstance(address, GroupChat):
            return handle
        task_id, code = parse_handle(handle)
        view = self._shown(view)
        if self._showing.get(task_id) == view:
            return handle
        if code is not None:
            update = {
                "userids": [address.userid],
                "agentid": self.agent_id,
                "response_code": code,
                "template_card": render.template_card(view, task_id),
            }
            try:
                await self._call("/cgi-bin/message/update_template_card", update)
                self._showing[task_id] = view
                return task_id  # its code is spent
            except Refused as refused:
                if not isinstance(refused.__cause__, WeComApiError) or refused.__cause__.errcode != CODE_USED:
                    raise
        # No code left to update the card with: the member gets the card anew (as text once decided).
        anew = await self.send(address, view)
        if anew is None:
            self._showing[task_id] = view
        return anew or task_id

    async def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One API call, its failure as the delivery loop's outcome (WeComApi renews expired tokens)."""
        try:
            return await self.api.post(path, payload)
        except WeComApiError as error:
            if error.errcode in RETRY_ERRCODES:
                raise RetryLater(str(error)) from error
            raise Refused(f"errcode {error.errcode}: {error}") from error
        except WeComApiFailed as error:
            if error.maybe_delivered:
                raise MaybeSent(str(error)) from error
            raise RetryLater(str(error)) from error


def _markdown(message: dict[str, Any], view: View) -> list[dict[str, Any]]:
    """A view as markdown messages of at most the platform's 2,048 bytes each."""
    parts = render.split_markdown(render.view_markdown(view))
    return [{**message, "msgtype": "markdown", "markdown": {"content": part}} for part in parts]
