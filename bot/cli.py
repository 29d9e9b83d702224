"""The `zhengwu` command: run the bot, ask and evaluate the rules engine, admin tasks."""

import argparse
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot import logs
from bot.config import Settings, load_settings
from bot.errors import ConfigError, InvalidInput, ZhengwuError
from retrieval.errors import RetrievalError

if TYPE_CHECKING:
    from knowledge.model import Rulebook


def _engine(settings: Settings):
    from retrieval.engine import RulesEngine

    return RulesEngine.from_settings(settings.retrieval)


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.channel == "wecom":
        from bot.app import wiring
        from bot.services import build_services
        from bot.wecom.run import Features
        from bot.wecom.run import main as run_wecom

        tables = wiring()
        # The rules engine is loaded once the callback server (and the stand-in's page) is up.
        run_wecom(build_services(settings, with_engine=False), Features(tables.renderers, tables.workflows))
        return 0
    from telegram.error import InvalidToken

    from bot.app import run

    try:
        run(settings)
    except InvalidToken:
        raise ConfigError(f"TELEGRAM_BOT_TOKEN was rejected by {settings.telegram.api_base_url} (401)") from None
    return 0


def _cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    answer = _engine(settings).ask(args.question)
    print(answer.text)
    return 0


def _cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from retrieval.evaluation import cross_validate, evaluate, load_questions

    def read(files: list[str]) -> list[dict]:
        questions = []
        for file in files:
            try:
                questions += load_questions(Path(file))
            except OSError as exc:
                raise InvalidInput(f"cannot read the question set {file!r}: {exc.strerror}") from None
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        return questions

    questions, learned_only = read(args.files), read(args.learn_also)
    if learned_only and not args.cv:
        raise InvalidInput("--learn-also needs --cv: without folds nothing is learned from the questions")
    engine = _engine(settings)
    if args.cv:
        report, outcomes, chosen, overall = cross_validate(engine, questions, args.cv, learned_only=learned_only)
        print(f"{args.cv}-fold cross-validation: every number below is from held-out folds")
        for fold, choice in enumerate(chosen, start=1):
            print(f"fold {fold} chose {choice}")
        print(f"on all {len(questions)} questions: {overall}")
    else:
        report, outcomes = evaluate(engine, questions)
    if args.verbose:
        for o in outcomes:
            verdict = o.verdict if o.declined or not o.expected else f"rank {o.rank}" if o.rank else "miss"
            print(f"{verdict:9} expected {o.expected} got {o.ranked[:3]} ({o.verdict})  {o.question}")
    print(report.to_text())
    if args.json:
        print(report.to_json())
    return 0


def _cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    if args.target == "console":
        from bot.benchmarks.console import run_console_benchmark

        print(run_console_benchmark(settings).to_text())
        return 0
    if args.target == "chat":
        from bot.benchmarks.chat import run_chat_benchmark

        print(run_chat_benchmark(settings, args.users, args.queries, args.think_ms).to_text())
        return 0
    from dataclasses import replace

    from bot.start_progress import Preparing, StartProgress
    from retrieval.benchmark import run_benchmark
    from retrieval.embeddings import STAND_IN

    def bar(report: Preparing) -> None:
        filled = round(30 * report.done / report.total) if report.total else 30
        end = "\n" if report.done == report.total else ""
        print(f"\r[{'#' * filled}{'.' * (30 - filled)}] {report.text}\033[K", end=end, file=sys.stderr, flush=True)

    # The bar redraws one terminal line with each count; the lines StartProgress prints would repeat it.
    progress = StartProgress(bar, print_line=lambda line: None)
    retrieval = replace(settings.retrieval, backend=STAND_IN) if args.stand_in_embedder else settings.retrieval
    print(run_benchmark(retrieval, args.articles, args.queries, progress, args.keep_index).to_text())
    return 0


def _cmd_invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.roster import create_invite, read_roster, sync_roster
    from bot.storage import open_database

    database = open_database(settings)
    with database.session() as session:
        sync_roster(session, read_roster(settings.roster_path))
        valid = timedelta(hours=settings.invite_valid_hours)
        code = create_invite(session, args.name, datetime.now(settings.timezone), valid)
        session.commit()
    print(f"https://t.me/{args.bot_username}?start={code}")
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"expected a date such as 2026-12-28, got {text!r}") from None


def _cmd_calendar(settings: Settings, args: argparse.Namespace) -> int:
    from bot.calendar.overrides import load_calendar, set_override
    from bot.storage import open_database

    database = open_database(settings)
    with database.session() as session:
        if args.set:
            kind = args.set[1]
            if kind not in {"work", "rest"}:
                raise InvalidInput(f"expected 'work' or 'rest', got {kind!r}")
            set_override(session, _date(args.set[0]), kind == "work", " ".join(args.set[2:]))
            session.commit()
            print(f"override saved: {args.set[0]} {'working day' if kind == 'work' else 'rest day'}")
            return 0
        calendar = load_calendar(session)
    start = _date(args.date)
    if not args.period.lstrip("+").isdigit() or int(args.period.lstrip("+")) < 1:
        raise InvalidInput(f"expected a period such as +5, got {args.period!r}")
    workdays = int(args.period.lstrip("+"))
    counted = calendar.add_workdays(start, workdays)
    print(f"{start} + {workdays} 个工作日 = {counted.due}（周{'一二三四五六日'[counted.due.weekday()]}）")
    print("数据来源：" + "；".join(sorted(s.value for s in counted.sources)))
    if counted.warning:
        print(counted.warning)
    return 0


def _cmd_deliver(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from telegram.ext import AIORateLimiter, ExtBot

    from bot.app import wiring
    from bot.delivery import Delivery
    from bot.services import build_services
    from handlers.channel import TelegramChannel

    token = settings.telegram.token
    if token is None:
        raise ConfigError("deliver needs TELEGRAM_BOT_TOKEN (and [telegram] api_base_url for a local server)")
    services = build_services(settings, with_engine=False)
    if args.at:
        services.clock.set(datetime.fromisoformat(args.at))

    async def until_none_due() -> int:
        bot = ExtBot(token, base_url=settings.telegram.api_base_url, rate_limiter=AIORateLimiter(max_retries=5))
        total = 0
        async with bot:
            delivery = Delivery(services, TelegramChannel(bot, settings), wiring().renderers)
            while True:
                step = await delivery.step(args.batch)
                total += step.sent
                if not step.claimed:
                    return total

    print(f"messages sent: {asyncio.run(until_none_due())}")
    return 0


def _cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services import build_services

    services = build_services(settings, with_engine=False)
    deleted = services.purge()
    print(f"deleted {deleted} question(s) older than {settings.question_log_days} days")
    return 0


def _cmd_export_answers(settings: Settings, args: argparse.Namespace) -> int:
    from bot.datadir import write_private
    from bot.qa import curated
    from bot.services import build_services

    services = build_services(settings, with_engine=False)
    with services.database.session() as session:
        # The answers quote what people asked: the file is for this account only, like the data folder.
        write_private(Path(args.file), curated.export_jsonl(session).encode("utf-8"))
    print(f"curated answers written to {args.file}")
    return 0


def _cmd_import_answers(settings: Settings, args: argparse.Namespace) -> int:
    from bot.qa import curated
    from bot.services import build_services

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read {args.file!r}: {exc.strerror}") from None
    services = build_services(settings, with_engine=False)
    added = services.run(lambda session: curated.import_jsonl(session, text, services.library))
    print(f"curated answers added: {added}")
    return 0


def _shelf(settings: Settings):
    from bot.services import rule_shelf

    return rule_shelf(settings)


def _cmd_rules(settings: Settings, args: argparse.Namespace) -> int:
    """Import, list, publish and compare rulebooks; the knowledge package's refusals become one Chinese line."""
    from knowledge.errors import RulebookError

    try:
        return _RULES_ACTIONS[args.action](settings, args)
    except RulebookError as exc:
        raise InvalidInput(str(exc)) from None


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} 的日期看不懂：{value!r}，请写成 2024-06-01 这样") from None


def _today(settings: Settings) -> date:
    """The office's today (its time zone), which decides the version of each book in force."""
    return datetime.now(settings.timezone).date()


def _rules_import(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge.diff import describe_changes, diff_rulebooks
    from knowledge.editions import Particulars
    from knowledge.importing import preview_file

    particulars = Particulars(
        args.title, args.doc_number, _day(args.issued, "--issued"), _day(args.effective, "--effective")
    )
    preview = preview_file(Path(args.file))
    print(preview.to_text())
    if not preview.accepted:
        print("未导入：请改正以上问题后重新导入。")
        return 1
    shelf = _shelf(settings)
    staged = shelf.stage(preview, args.name, particulars, _today(settings))
    print(_particulars_line(staged.book))
    if staged.replaces is not None:
        print(f"\n将替换现行的“{staged.name}”：")
        print(describe_changes(staged.replaces, staged.book, diff_rulebooks(staged.replaces, staged.book)))
    if not args.publish:
        print(f"\n已暂存为“{staged.name}”（待发布）；核对无误后发布：zhengwu rules publish {staged.name}")
        return 0
    return _published(shelf.publish(staged.name))


def _particulars_line(book: "Rulebook") -> str:
    """施行日期 as it will be used (what the file says or what --effective set)."""
    if book.effective_on is None:
        return "施行日期：未找到，发布后即为现行（可用 --effective 指定）"
    day = book.effective_on
    return f"施行日期：{day.year}年{day.month}月{day.day}日（此前旧版本继续有效）"


def _published(path: Path) -> int:
    print(f"\n已发布：{path}\n机器人在一天之内（或下次启动时）按新规则答复，届时重建规则索引。")
    return 0


def _rules_publish(settings: Settings, args: argparse.Namespace) -> int:
    return _published(_shelf(settings).publish(args.name))


def _rules_list(settings: Settings, args: argparse.Namespace) -> int:
    for entry in _shelf(settings).entries(_today(settings)):
        notes = [f"导入自 {entry.source}" if entry.source else "", "随附" if entry.shipped else ""]
        notes.append(f"被{entry.superseded_by}替代" if entry.superseded_by else "")
        day = entry.effective_on
        notes.append(f"自{day.isoformat()}施行" if day else "")
        edition = f"（{entry.edition}）" if entry.edition else ""
        note = "；".join(n for n in notes if n)
        print(
            f"{entry.name}\t{entry.state}\t《{entry.title}》{edition}\t{entry.articles}条\t{entry.file}{f'（{note}）' if note else ''}"
        )
    return 0


def _rules_retire(settings: Settings, args: argparse.Namespace) -> int:
    path = _shelf(settings).retire(args.name)
    print(f"已废止：{args.name}（保存在 {path}）\n机器人在一天之内（或下次启动时）不再依据它答复。")
    return 0


def _rules_diff(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge.diff import describe_changes, diff_rulebooks

    shelf = _shelf(settings)
    old, new = shelf.resolve(args.old), shelf.resolve(args.new, staged_first=True)
    print(describe_changes(old, new, diff_rulebooks(old, new)))
    return 0


_RULES_ACTIONS = {
    "import": _rules_import,
    "list": _rules_list,
    "publish": _rules_publish,
    "diff": _rules_diff,
    "retire": _rules_retire,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhengwu", description="区政府工作规则助手")
    parser.add_argument("--config", type=Path, help="config file (default: config.toml or $ZHENGWU_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run", help="run the bot (sandbox when TELEGRAM_BOT_TOKEN is unset; ZHENGWU_CHANNEL=wecom: WeCom)"
    ).set_defaults(handler=_cmd_run)
    ask = commands.add_parser("ask", help="answer one question with citations")
    ask.add_argument("question")
    ask.set_defaults(handler=_cmd_ask)
    evaluate = commands.add_parser("eval", help="recall@k, MRR, declines and latency over JSONL question sets")
    evaluate.add_argument("files", nargs="+")
    evaluate.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation of the answer policy")
    evaluate.add_argument(
        "--learn-also",
        action="append",
        default=[],
        metavar="FILE",
        help="with --cv: questions every fold learns from and none is scored on",
    )
    evaluate.add_argument("--json", action="store_true", help="also print one JSON object on the last line")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="list every question's outcome")
    evaluate.set_defaults(handler=_cmd_eval)
    bench = commands.add_parser("bench", help="benchmarks")
    bench.add_argument("target", choices=["retrieval", "chat", "console"])
    bench.add_argument("--articles", type=int, help="retrieval: synthetic corpus of N articles")
    bench.add_argument("--queries", type=int, default=200, help="questions to ask in all")
    bench.add_argument(
        "--keep-index", type=Path, metavar="DIR", help="retrieval: keep the index in DIR; a rerun embeds nothing"
    )
    bench.add_argument(
        "--stand-in-embedder",
        action="store_true",
        help="retrieval: vectors from hashed character bigrams instead of the model (all but embedding, in minutes)",
    )
    bench.add_argument("--users", type=int, default=20, help="chat: simulated users asking at once")
    bench.add_argument("--think-ms", type=float, default=1000, help="chat: each user's pause between questions")
    bench.set_defaults(handler=_cmd_bench)
    calendar = commands.add_parser("calendar", help="count working days: zhengwu calendar 2026-12-28 +5")
    calendar.add_argument("date", nargs="?", default="")
    calendar.add_argument("period", nargs="?", default="+1")
    calendar.add_argument(
        "--set",
        nargs="+",
        metavar=("DATE", "work|rest"),
        help="store an override: zhengwu calendar --set 2027-01-04 rest 元旦调休",
    )
    calendar.set_defaults(handler=_cmd_calendar)
    deliver = commands.add_parser("deliver", help="send the reminders and notices that are due, once (e.g. from cron)")
    deliver.add_argument("--at", help="deliver as if it were this local time (ISO format), for replays and tests")
    deliver.add_argument("--batch", type=int, default=50, help="reminders claimed per transaction")
    deliver.set_defaults(handler=_cmd_deliver)
    commands.add_parser("purge", help="delete questions older than [privacy] question_log_days now").set_defaults(
        handler=_cmd_purge
    )
    export_answers = commands.add_parser("export-answers", help="write the office's curated answers as JSONL")
    export_answers.add_argument("file")
    export_answers.set_defaults(handler=_cmd_export_answers)
    import_answers = commands.add_parser("import-answers", help="add curated answers from an export-answers file")
    import_answers.add_argument("file")
    import_answers.set_defaults(handler=_cmd_import_answers)
    rules = commands.add_parser("rules", help="rulebooks: import Word/PDF/text, list, publish, diff")
    rules.set_defaults(handler=_cmd_rules)
    actions = rules.add_subparsers(dest="action", required=True)
    imported = actions.add_parser("import", help="read a .docx, .pdf or .txt, print the preview, stage it")
    imported.add_argument("file")
    imported.add_argument(
        "--name", help="the name it is kept and published under (default: the book of the same title)"
    )
    imported.add_argument("--publish", action="store_true", help="publish at once when the preview has no problem")
    imported.add_argument("--effective", metavar="DATE", help="in force from this day (default: what the file says)")
    imported.add_argument("--issued", metavar="DATE", help="issuing date, over the one the file names")
    imported.add_argument("--doc-number", help="文号, over the one the file names")
    imported.add_argument("--title", help="title, over the one the file names")
    actions.add_parser(
        "list", help="every version of every book (in force, pending, superseded, retired) and the staged"
    )
    retire = actions.add_parser("retire", help="take a book out of force (kept, no longer answered from)")
    retire.add_argument("name")
    publish = actions.add_parser("publish", help="put a staged book in force (the bot reads it at its next start)")
    publish.add_argument("name")
    diff = actions.add_parser("diff", help="article-level changes between two books (names or files)")
    diff.add_argument("old", help="a name (the book in force first) or a file")
    diff.add_argument("new", help="a name (the staged book first) or a file")
    invite = commands.add_parser("invite", help="print a one-time deep link that binds a Telegram account")
    invite.add_argument("name", help="the person's name as in the roster")
    invite.add_argument("--bot-username", default="zhengwu_bot")
    invite.set_defaults(handler=_cmd_invite)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    secrets: list[str] = []
    try:
        settings = load_settings(args.config)
        secrets += [settings.telegram.token or "", settings.retrieval.llm.api_key if settings.retrieval.llm else ""]
        if settings.wecom is not None:
            secrets += [settings.wecom.secret or "", settings.wecom.encoding_aes_key or ""]
        logs.configure(secrets)
        return args.handler(settings, args)
    except (ZhengwuError, RetrievalError) as exc:  # e.g. the Chroma server does not answer
        print(f"zhengwu: {logs.redact(str(exc), secrets)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
