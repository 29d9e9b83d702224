"""Steps a person takes through the leave form in the sandbox, for the leave tests."""

from bot.sandbox.client import Message, SandboxClient, buttons


def press(client: SandboxClient, user: int, message: Message, label: str, expect: str) -> Message:
    """Press the button labelled `label` and wait until the message shows `expect`."""
    data = buttons(message)[label]
    client.wait_callback_answer(client.press(user, message, data))
    return client.wait_edit(message, expect)


# Cards and notices from the outbox may arrive at any moment; a form's reply is none of these.
NOT_A_REPLY = (
    "📌",
    "📢",
    "↩️",
    "⛔",
    "⏰",
    "⌛",
    "🏛",
    "⚠️",
    "📨",
    "📝 我的",
    "📝 请假审批",
    "📋 议题审核",
    "📋 议题确定",
    "📋 议题 #",
    "✅ 议题",
    "✅ 请假单",
    "❌ 请假单",
)


def answer(client: SandboxClient, user: int, text: str) -> Message:
    """Type a form answer and return the bot's reply to it."""
    sent = client.send(user, text)
    return client.wait_for(
        lambda: next(
            (m for m in client.bot_messages(user, sent["message_id"]) if not m.get("text", "").startswith(NOT_A_REPLY)),
            None,
        ),
        f"the reply to {text!r}",
    )


def fill_form(
    client: SandboxClient,
    user: int,
    kind: str,
    start: str,
    end: str,
    reason: str,
    destination: str | None = None,
    meeting: str | None = None,
    acting: str = "无需代行",
) -> Message:
    """Fill a whole leave form; returns the confirmation message."""
    form = answer(client, user, "/leave")
    if meeting:
        form = press(client, user, form, kind, "请选择不能出席的会议")
        form = press(client, user, form, meeting, "请输入开始日期")
    else:
        form = press(client, user, form, kind, "请输入开始日期")
    form = answer(client, user, start)
    assert "请输入结束日期" in form["text"], form["text"]
    form = answer(client, user, end)
    if destination:
        assert "请输入目的地" in form["text"], form["text"]
        form = answer(client, user, destination)
    assert "请输入事由" in form["text"], form["text"]
    form = answer(client, user, reason)
    assert "代行职责" in form["text"], form["text"]
    label = next(lbl for lbl in buttons(form) if lbl.startswith(acting)) if acting != "无需代行" else acting
    return press(client, user, form, label, "请核对后提交")


def submit(client: SandboxClient, user: int, confirm: Message, expect: str = "请假单") -> Message:
    return press(client, user, confirm, "✅ 提交", expect)
