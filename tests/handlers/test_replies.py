"""What the bot says, and how often, through the sandbox over HTTP on SQLite and PostgreSQL (issue 18,
"Replies"): one reply per command, nothing for another bot's commands, a word for what it cannot
read, clear refusals of impossible input."""

from handlers.start import ONLY_TEXT
from tests.handlers.conftest import OFFICE_GROUP, LiveBot
from tests.handlers.test_concurrency import STAFF, _last_id

FENCE = "/whoami"  # answered after a database look-up: once its reply is in, an earlier one would be too


def test_cancel_gets_exactly_one_reply(live_bot: LiveBot) -> None:
    client = live_bot.client
    before = _last_id(client, STAFF)
    [reply] = client.ask(STAFF, "/cancel")
    fence = client.ask(STAFF, FENCE)[0]
    said = [m["text"] for m in client.bot_messages(STAFF, before) if m["message_id"] < fence["message_id"]]
    assert said == [reply["text"]], said
    assert "这个命令" not in reply["text"]


def test_a_command_addressed_to_another_bot_is_ignored_in_a_private_chat(live_bot: LiveBot) -> None:
    client = live_bot.client
    before = _last_id(client, STAFF)
    client.send(STAFF, "/help@otherbot")
    fence = client.ask(STAFF, FENCE)[0]
    said = [m["text"] for m in client.bot_messages(STAFF, before) if m["message_id"] < fence["message_id"]]
    assert said == [], said
    username = client.state()["bot"]["username"]
    assert "政务助手" in client.ask(STAFF, f"/help@{username}")[0]["text"]


def test_photos_stickers_voice_files_and_locations_are_told_only_text_is_read(live_bot: LiveBot) -> None:
    client = live_bot.client
    for media in ("photo", "sticker", "voice", "document", "location"):
        sent = client.send_media(STAFF, media)
        assert client.wait_bot_messages(STAFF, sent["message_id"])[0]["text"] == ONLY_TEXT, media
    # In a group such messages are people talking to each other.
    before = _last_id(client, OFFICE_GROUP)
    client.send_media(STAFF, "photo", chat_id=OFFICE_GROUP)
    fence = client.send(STAFF, "/ask 会议纪要由谁签发？", chat_id=OFFICE_GROUP)
    client.wait_bot_messages(OFFICE_GROUP, fence["message_id"])
    assert not [m for m in client.bot_messages(OFFICE_GROUP, before) if m["text"] == ONLY_TEXT]


def test_a_negative_period_of_an_adhoc_deadline_is_refused(live_bot: LiveBot) -> None:
    [reply] = live_bot.client.ask(STAFF, "/deadline 报送材料，-3个工作日")
    assert "不合理" in reply["text"] and "1 到 60 个工作日" in reply["text"], reply["text"]
    assert "已登记" not in reply["text"]
