"""The no-token launch: a sandbox Bot API server with the roster's accounts, for the bot to run on.

The application depends on the sandbox, never the other way round: bot.app starts the server here
and builds the bot against it.
"""

from pathlib import Path

from sqlalchemy import select

from bot.db import Person
from bot.sandbox.server import SandboxServer, SandboxUser
from bot.services import Services
from bot.start_progress import Preparing, StartProgress

SANDBOX_TOKEN = "1000001:sandbox-token"
VISITOR_ID = 99999
# People on the roster without a Telegram id get sandbox accounts from here on, unbound.
_UNBOUND_SANDBOX_IDS = 20000


def sandbox_users(services: Services) -> list[SandboxUser]:
    """Sandbox accounts: everyone on the roster (bound where the roster gives an id) and a visitor."""
    users = []
    with services.database.session() as session:
        for person in session.scalars(select(Person).where(Person.active).order_by(Person.id)):
            user_id = person.telegram_user_id or _UNBOUND_SANDBOX_IDS + person.id
            unbound = person.telegram_user_id is None
            users.append(SandboxUser(user_id, f"{person.name}（{person.position}）", unbound=unbound))
    users.append(SandboxUser(VISITOR_ID, "访客（未绑定）", unbound=True))
    return users


def sandbox_server(services: Services, host: str, port: int, journal: Path | None = None) -> SandboxServer:
    # A group's title is what the office calls it, as Telegram would show it.
    groups = {chat_id: services.settings.group_label(name) for name, chat_id in services.settings.groups.items()}
    keep_days = services.settings.question_log_days
    return SandboxServer(
        SANDBOX_TOKEN, sandbox_users(services), groups, host=host, port=port, journal=journal, keep_days=keep_days
    )


def start_sandbox_server(services: Services, host: str, port: int) -> SandboxServer:
    """Start the sandbox server, then load the rules engine if `services` has none yet (the chat
    page is there at once and shows how far a first start is; what people send meanwhile waits
    for the bot, as with Telegram)."""
    # The chats are kept beside the database, so a restart of the bot finds its conversations.
    server = sandbox_server(services, host, port, journal=services.settings.data_dir / "sandbox-chats.json")
    server.start_in_thread()
    print(f"\n沙盒已启动（没有 TELEGRAM_BOT_TOKEN）：在浏览器打开 {server.url}/ 与机器人对话\n", flush=True)
    if services.engine is None:

        def show(report: Preparing) -> None:
            server.state.preparing = {"text": report.text, "done": report.done, "total": report.total}

        services.load_engine(StartProgress(show))
        server.state.preparing = None
    return server
