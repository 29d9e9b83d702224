"""/start (with an invite code, binding the account), /help and /whoami."""

import html

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.roster import person_for, redeem_invite
from handlers.common import blocking, explains_domain_errors, send_html, services, tell
from handlers.features import Feature

HELP = """<b>政务助手</b>：依据《昆都仑区人民政府工作规则》回答办事程序问题，并注明条文出处。

• 私聊直接发送问题，例如：副区长离包外出要向谁请示？
• 群聊中用 /ask 问题，或 @我 提问
• /rules 按章浏览规则，/article 50 查看某一条
• /leave 请假，/back 销假，/leaves 我的请假和待我审批
• /topic 申报会议议题，/topics 我的议题和待我审核，/agenda 会议议程
• /deadline 登记交办期限，/consult 征求意见（5个工作日），/deadlines 未办结事项
• /cancel 取消正在填写的内容，/whoami 查看账号绑定情况
• /console 打开办公室控制台（网页：请假日历、议题看板、期限、问答）
• /stats 问答统计、/unanswered 答复机器人没能回答的问题、/export 导出请销假记录（管理员）

规则没有规定的问题，我会直接说明，不会编造。"""


@explains_domain_errors
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [code]: greet, and bind the account when an invite code comes with it."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    found = services(context)
    if context.args:
        code = context.args[0]

        def bind() -> str:
            with found.database.session() as session:
                person = redeem_invite(session, code, user.id, found.clock.now())
                session.commit()
                return f"{person.name}（{person.position}）"

        who = await blocking(bind)
        await send_html(context, chat.id, f"✅ 绑定成功：您是 {html.escape(who, quote=False)}。\n\n{HELP}")
        return
    await send_html(context, chat.id, HELP)


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: what the bot does and how to ask."""
    assert update.effective_chat is not None
    await send_html(context, update.effective_chat.id, HELP)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command no handler knows: point to /help. Commands addressed to another bot (/help@otherbot)
    are none of its business in any chat, and in a group only those addressed to this bot are."""
    assert update.message is not None and update.effective_chat is not None
    name, at, addressee = (update.message.text or "/").split()[0][1:].partition("@")
    to_this_bot = addressee.lower() == (context.bot.username or "").lower()
    if (at and not to_this_bot) or (update.effective_chat.type != "private" and not to_this_bot):
        return
    await tell(update, context, f"没有 /{name[:32]} 这个命令。发送 /help 查看可用的命令。")


ONLY_TEXT = "我只能读文字消息：图片、贴纸、语音、文件和位置我看不到。请用文字发送您的问题或要填写的内容。"
# Everything a person can send that is not text (and not a command, which has its own handlers).
NOT_TEXT = (
    filters.PHOTO
    | filters.Sticker.ALL
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.ANIMATION
)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice message, file or location in a private chat: say that only text is
    read (in a group such messages are people talking to each other)."""
    await tell(update, context, ONLY_TEXT)


async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/whoami: whom this account is bound to."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None

    def look_up() -> str:
        with services(context).database.session() as session:
            person = person_for(session, user.id)
            if person is None:
                return "您的账号尚未绑定花名册：可以提问规则，但不能办理请假、议题等事项。请向办公室索取邀请链接。"
            where = f"，{person.department}" if person.department else ""
            return f"您是 {person.name}（{person.position}{where}）。"

    await send_html(context, chat.id, html.escape(await blocking(look_up), quote=False))


def build_handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start),
        CommandHandler("help", show_help),
        CommandHandler("whoami", whoami),
        MessageHandler(filters.ChatType.PRIVATE & NOT_TEXT, not_text),
    ]


FEATURE = Feature(name="start", handlers=build_handlers)
