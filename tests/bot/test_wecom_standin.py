"""The local WeCom stand-in behaves as the platform does where the bot depends on it: tokens that
expire, what each API accepts and refuses with which errcode, single-use response codes, group
chats, and callbacks delivered again when no acknowledgement comes in time."""

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import httpx
import pytest
from aiohttp import web

from bot.errors import WeComApiError
from bot.web import serve
from bot.wecom.api import WeComApi
from bot.wecom.crypto import WeComCrypto
from bot.wecom.inbound import parse_inbound
from bot.wecom.standin import MAX_CONTENT_BYTES, STANDIN_AGENT_ID, WeComStandIn

MEMBERS = {"zhangwei": "张伟", "wangjianguo": "王建国"}


class SteppedClock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def standin() -> AsyncIterator[WeComStandIn]:
    clock = SteppedClock()
    standin = WeComStandIn(members=MEMBERS, clock=clock, ack_timeout=0.3)
    await standin.start()
    yield standin
    await standin.stop()


@pytest.fixture
async def api(standin: WeComStandIn) -> AsyncIterator[WeComApi]:
    async with httpx.AsyncClient() as http:
        yield WeComApi(http, standin.corp_id, standin.secret, base_url=standin.url, clock=standin.clock)


def text(userid: str, content: str) -> dict:
    return {"touser": userid, "agentid": STANDIN_AGENT_ID, "msgtype": "text", "text": {"content": content}}


def card(userid: str, task_id: str) -> dict:
    return {
        "touser": userid,
        "agentid": STANDIN_AGENT_ID,
        "msgtype": "template_card",
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "请假审批", "desc": "张伟 离包外出"},
            "task_id": task_id,
            "button_list": [{"text": "批准", "key": "approve"}, {"text": "不批准", "key": "reject"}],
        },
    }


async def test_messages_are_recorded_per_member_in_every_served_kind(standin: WeComStandIn, api: WeComApi) -> None:
    await api.post("/cgi-bin/message/send", text("zhangwei", "你好"))
    markdown = {"touser": "ZhangWei|wangjianguo", "agentid": STANDIN_AGENT_ID, "msgtype": "markdown"}
    await api.post("/cgi-bin/message/send", markdown | {"markdown": {"content": "**第七十九条**"}})
    await api.post("/cgi-bin/message/send", card("wangjianguo", "leave-1"))

    assert [(s.msgtype, s.text) for s in standin.messages_for("zhangwei")] == [
        ("text", "你好"),
        ("markdown", "**第七十九条**"),
    ]
    assert [s.msgtype for s in standin.messages_for("wangjianguo")] == ["markdown", "template_card"]
    assert standin.messages_for("wangjianguo")[1].text == "请假审批\n张伟 离包外出"


@pytest.mark.parametrize(
    ("payload", "errcode"),
    [
        (text("nobody", "你好"), 81013),
        (text("zhangwei", "长" * (MAX_CONTENT_BYTES // 3 + 1)), 45002),
        (text("zhangwei", "你好") | {"agentid": 1}, 40056),
        ({"touser": "zhangwei", "agentid": STANDIN_AGENT_ID, "msgtype": "voice"}, 40058),
        (card("zhangwei", ""), 40058),
    ],
    ids=["no such member", "content over 2048 bytes", "another application", "unserved kind", "card without task"],
)
async def test_what_the_platform_refuses_is_refused_with_its_errcode(
    standin: WeComStandIn, api: WeComApi, payload: dict, errcode: int
) -> None:
    with pytest.raises(WeComApiError) as refused:
        await api.post("/cgi-bin/message/send", payload)
    assert refused.value.errcode == errcode
    assert standin.messages_for("zhangwei") == []


async def test_a_member_unknown_among_known_ones_is_named_and_the_others_get_it(
    standin: WeComStandIn, api: WeComApi
) -> None:
    answer = await api.post("/cgi-bin/message/send", text("zhangwei|nobody", "你好"))
    assert answer["invaliduser"] == "nobody"
    assert len(standin.messages_for("zhangwei")) == 1


async def test_messages_beyond_a_members_quota_are_dropped_silently_as_the_platform_does(
    standin: WeComStandIn, api: WeComApi
) -> None:
    for n in range(31):
        answer = await api.post("/cgi-bin/message/send", text("zhangwei", f"第{n}条"))
    assert answer["errcode"] == 0, "no error tells the sender"
    assert len(standin.messages_for("zhangwei")) == 30 and standin.dropped == {"zhangwei": 1}
    standin.clock.now += 60
    await api.post("/cgi-bin/message/send", text("zhangwei", "一分钟后"))
    assert standin.messages_for("zhangwei")[-1].text == "一分钟后"


async def test_a_wrong_secret_gets_no_token(standin: WeComStandIn) -> None:
    async with httpx.AsyncClient() as http:
        api = WeComApi(http, standin.corp_id, "not-the-secret", base_url=standin.url)
        with pytest.raises(WeComApiError) as refused:
            await api.post("/cgi-bin/message/send", text("zhangwei", "你好"))
    assert refused.value.errcode == 40001


async def test_tokens_expire_with_time_and_on_demand_and_a_renewed_token_delivers(
    standin: WeComStandIn, api: WeComApi
) -> None:
    await api.post("/cgi-bin/message/send", text("zhangwei", "一"))
    standin.expire_tokens()
    await api.post("/cgi-bin/message/send", text("zhangwei", "二"))
    standin.clock.now += 7200  # past expires_in, and the client's own margin
    await api.post("/cgi-bin/message/send", text("zhangwei", "三"))

    assert [s.text for s in standin.messages_for("zhangwei")] == ["一", "二", "三"]
    assert standin.api_calls.count("gettoken") == 3
    assert len(standin.tokens) == 3


async def test_a_response_code_updates_its_card_once(standin: WeComStandIn, api: WeComApi) -> None:
    standin.callback_url = "http://127.0.0.1:9/unreachable"  # the click's callback is not what is tested here
    standin.retries = 0
    sent = await api.post("/cgi-bin/message/send", card("wangjianguo", "leave-1"))
    await standin.user_clicks("wangjianguo", "leave-1", "approve")
    pressed = [code for code in standin.response_codes if code != sent["response_code"]]
    assert len(pressed) == 1, "the card came with a response code, and so does the press"
    update = {"userids": ["wangjianguo"], "agentid": STANDIN_AGENT_ID, "response_code": pressed[0]}
    update["button"] = {"replace_name": "已批准"}

    await api.post("/cgi-bin/message/update_template_card", update)
    with pytest.raises(WeComApiError) as reused:
        await api.post("/cgi-bin/message/update_template_card", update)

    assert reused.value.errcode == 40058
    assert [u["button"] for u in standin.messages_for("wangjianguo")[0].updates] == [{"replace_name": "已批准"}]


async def test_group_chats_are_created_and_receive_messages(standin: WeComStandIn, api: WeComApi) -> None:
    created = await api.post(
        "/cgi-bin/appchat/create", {"name": "区政府办公室工作群", "owner": "wangjianguo", "userlist": list(MEMBERS)}
    )
    await api.post(
        "/cgi-bin/appchat/send", {"chatid": created["chatid"], "msgtype": "text", "text": {"content": "提醒"}}
    )
    with pytest.raises(WeComApiError) as refused:
        await api.post("/cgi-bin/appchat/send", {"chatid": "nochat", "msgtype": "text", "text": {"content": "提醒"}})

    assert [m.text for m in standin.chats[created["chatid"]]["messages"]] == ["提醒"]
    assert refused.value.errcode == 86003


async def _callback_site(answers: list[str]) -> tuple[web.AppRunner, str, list[tuple[str, str]]]:
    """A callback URL that answers each delivery as `answers` says: "ok", "slow" (past the ack
    timeout), "refuse" (403). It records each request's query and body."""
    received: list[tuple[str, str]] = []

    async def callback(request: web.Request) -> web.Response:
        received.append((request.query_string, await request.text()))
        how = answers.pop(0) if answers else "ok"
        if how == "slow":
            await asyncio.sleep(0.6)
        return web.Response(status=403 if how == "refuse" else 200, text="")

    app = web.Application()
    app.router.add_post("/cb", callback)
    runner, port = await serve(app, "127.0.0.1", 0)
    return runner, f"http://127.0.0.1:{port}/cb", received


@pytest.mark.parametrize(
    ("answers", "lost", "statuses"),
    [
        (["ok"], 0, [200]),
        (["slow", "ok"], 0, [None, 200]),
        (["ok", "ok"], 1, [200, 200]),
        (["slow", "slow", "slow", "slow"], 0, [None, None, None, None]),
        (["refuse"], 0, [403]),
    ],
    ids=["acknowledged", "slow then acknowledged", "acknowledgement lost", "never acknowledged", "refused"],
)
async def test_an_unacknowledged_callback_is_delivered_again_the_same(
    standin: WeComStandIn, answers: list[str], lost: int, statuses: list[int | None]
) -> None:
    runner, url, received = await _callback_site(list(answers))
    standin.callback_url, standin.lose_acknowledgements = url, lost
    try:
        delivery = await standin.user_types("zhangwei", "副区长离包外出要向谁请示？")
    finally:
        await runner.cleanup()

    assert delivery.statuses == statuses
    assert len(set(received)) == 1, "every retry is the same signed request"
    crypto = WeComCrypto(standin.token, standin.encoding_aes_key, standin.corp_id)
    query, body = dict(parse_qsl(received[0][0])), received[0][1]
    plaintext = crypto.decrypt_callback(body, **query, max_age_seconds=300, now=standin.clock)
    message = parse_inbound(plaintext)
    assert (message.from_user, message.content, message.msg_type) == ("zhangwei", "副区长离包外出要向谁请示？", "text")


async def test_the_chat_page_types_and_presses_card_buttons_as_a_member_through_json_only(
    standin: WeComStandIn, api: WeComApi
) -> None:
    runner, url, received = await _callback_site([])
    standin.callback_url = url
    await api.post("/cgi-bin/message/send", card("wangjianguo", "leave-1"))
    try:
        async with httpx.AsyncClient(base_url=standin.url) as http:
            page = await http.get("/", follow_redirects=True)
            forged = await http.post("/standin/api/type", data={"user": "zhangwei", "text": "你好"})
            stranger = await http.post("/standin/api/type", json={"user": "nobody", "text": "你好"})
            typed = await http.post("/standin/api/type", json={"user": "zhangwei", "text": "你好"})
            pressed = await http.post(
                "/standin/api/click", json={"user": "wangjianguo", "task_id": "leave-1", "key": "approve"}
            )
            state = (await http.get("/standin/api/state", params={"user": "wangjianguo"})).json()
    finally:
        await runner.cleanup()

    assert page.status_code == 200 and "企业微信（本机模拟）" in page.text
    assert forged.status_code == 415, "a form post from another web page cannot type as a member"
    assert stranger.status_code == 400
    assert typed.json() == pressed.json() == {"statuses": [200]} and len(received) == 2
    assert state["members"] == MEMBERS
    assert [(m["type"], m["card"]["task_id"]) for m in state["messages"]] == [("template_card", "leave-1")]
    assert len(standin.response_codes) == 2, "the card came with a response code, and the press brings one"
