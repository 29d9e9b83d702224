"""More than one bot process (webhook workers, the CLI, the console): with `[retrieval] chroma_url`
they share one index on a Chroma server, and one PostgreSQL database. Two real `zhengwu run`
processes answer from it and cite the right articles; neither keeps an index of its own, the server
holds the one index once, and the learned cache in their shared folder serves both."""

import shutil
from pathlib import Path

from sqlalchemy import func, select

from bot.db import QuestionLog
from bot.sandbox.client import SandboxClient
from retrieval.engine import RulesEngine
from tests.bot.processes import WAIT_S, bots_beside_sandboxes, chroma_server
from tests.conftest import postgres_url

DEPUTY = 10003
QUESTIONS = {"副区长离包外出要向谁请示？": "第七十九条", "会议纪要多长时间内印发？": "第五十条"}


def test_two_bot_processes_answer_from_one_chroma_server(tmp_path: Path, chroma_dir: Path, engine: RulesEngine) -> None:
    database_url = postgres_url("zhengwu_shared_index")
    # The server starts on a copy of the session's index of the shipped rulebook (the `engine`
    # fixture built it) and the bots share a folder with its learned cache: nobody embeds or learns.
    shutil.copytree(chroma_dir, tmp_path / "server")
    cache = tmp_path / "cache"
    cache.mkdir()
    for cached in [*chroma_dir.glob("learned-*.npz"), *chroma_dir.glob("tokens-*.pickle")]:
        shutil.copy(cached, cache)
    with (
        chroma_server(tmp_path / "server", tmp_path / "chroma.log") as url,
        bots_beside_sandboxes(database_url, tmp_path, 2, retrieval_chroma_url=url, retrieval_chroma_dir=str(cache)) as (
            found,
            bots,
        ),
    ):
        for _, bot in bots:
            bot.start()
        for (server, _), (question, article) in zip(bots, QUESTIONS.items(), strict=True):
            reply = SandboxClient(server.url, timeout_s=WAIT_S).ask(DEPUTY, question)[0]
            assert article in reply["text"] and "工作规则" in reply["text"], reply["text"]
        with found.database.session() as session:
            assert session.scalar(select(func.count()).select_from(QuestionLog)) == 2, "both logged in one database"
    kept = sorted(p.name for p in cache.iterdir())
    assert not [name for name in kept if name.endswith(".sqlite3")], "no process opened an index of its own"
    assert not [name for name in kept if ".tmp" in name], "the processes' cache files were written whole"
    learned = sorted(p.name for p in chroma_dir.glob("learned-*.npz"))
    assert [name for name in kept if name.startswith("learned-")] == learned, "nothing was learned again"
