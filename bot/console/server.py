"""The console's web server: server-rendered pages (Jinja2) on the bot's own event loop.

Every page is one unit of work in a worker thread (services.run), rendered there too; what a
viewer sees is decided in bot.console.views. Errors are pages, not tracebacks: 403 for what the
roster does not allow (or someone not signed in), 404 for what does not exist, 400 for a form that
cannot be read. No page may be framed by another site (clickjacking of the forms).
"""

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import icalendar
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from bot import plaintext
from bot.calendar.labels import local_moment
from bot.console import auth, rulebooks, views
from bot.console.models import ConsoleSession
from bot.db import Person
from bot.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from bot.leave import service as leave_service
from bot.leave.export import export_file
from bot.qa import curated
from bot.services import Services, rule_shelf
from bot.topics import service as topics
from bot.web import serve

log = logging.getLogger(__name__)
COOKIE = "zw_console"
# The login page's double-submit check (SameSite=Strict): another site cannot post a link's button,
# so it cannot sign a browser in as someone else.
LOGIN_CHECK = "zw_login"
FRAMING_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
_CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
TEMPLATES.filters["clauses"] = plaintext.clauses
TEMPLATES.filters["local_moment"] = local_moment
Page = tuple[str, dict[str, Any]]


class ConsoleServer:
    def __init__(self, services: Services, host: str, port: int, public_url: str = "") -> None:
        self.services = services
        self.host, self.port, self._public_url = host, port, public_url
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The address in links (the login link, calendar feeds)."""
        return self._public_url or f"http://{self.host}:{self.port}"

    @property
    def _group_told(self) -> bool:
        """Whether the office group hears of leaders' leave: then every calendar shows it too."""
        return self.services.settings.leave_notice_group is not None

    @property
    def _secure_cookies(self) -> bool:
        """Browsers reach the console over HTTPS (a reverse proxy): cookies travel over it only."""
        return self.url.startswith("https://")

    def app(self) -> web.Application:
        # Uploads (规则库) may be a rulebook's PDF; every other form is small.
        app = web.Application(middlewares=[self._errors], client_max_size=rulebooks.MAX_UPLOAD_BYTES)
        app.on_response_prepare.append(_forbid_framing)
        routes = [
            web.get("/login/{token}", self._login_page),
            web.post("/login/{token}", self._login),
            web.get("/", self._home),
            web.get("/leaves", self._page(self._leaves)),
            web.get("/leaves/{id}", self._page(self._leave)),
            web.get("/topics", self._page(self._topics)),
            web.get("/topics/{id}", self._page(self._topic)),
            web.get("/deadlines", self._page(self._deadlines)),
            web.get("/questions", self._page(self._questions)),
            web.get("/feeds", self._page(self._feeds)),
            web.get("/rules", self._page(self._rules)),
            web.post("/rules/upload", self._upload_rulebook),
            web.get("/rules/staged/{name}", self._page(self._staged_rulebook)),
            web.post("/rules/staged/{name}/publish", self._form(self._publish_rulebook)),
            web.post("/rules/{name}/retire", self._form(self._retire_rulebook)),
            web.post("/feeds", self._form(self._create_feed)),
            web.post("/feeds/{id}/revoke", self._form(self._revoke_feed)),
            web.post("/logout", self._form(self._logout)),
            web.get("/signed-out", self._signed_out),
            web.get("/export/leaves", self._file(self._export_leaves)),
            web.get("/export/topics/{id}", self._file(self._export_topic)),
            web.get("/ical/{token}", self._ical),
        ]
        app.add_routes(routes)
        return app

    async def start(self) -> None:
        self._runner, self.port = await serve(self.app(), self.host, self.port)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # ----- plumbing ------------------------------------------------------------------------------

    def _run(self, work: Callable[[Session], Any]) -> Awaitable[Any]:
        return asyncio.to_thread(self.services.run, work)

    @web.middleware
    async def _errors(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        try:
            return await handler(request)
        except PermissionDenied as exc:
            return _message(403, "无权查看", str(exc))
        except NotFound as exc:
            return _message(404, "找不到", str(exc))
        except DomainError as exc:
            return _message(400, "无法处理", str(exc))
        except web.HTTPNotFound:
            return _message(404, "找不到", "没有这个页面。")
        except web.HTTPException:
            raise  # redirects
        except Exception:
            log.exception("console page %s failed", request.path)
            return _message(500, "出错了", "这个页面暂时无法显示，请稍后再试；问题已记入日志。")

    def _viewer(self, session: Session, request: web.Request) -> ConsoleSession:
        signed = auth.signed_in(session, request.cookies.get(COOKIE), self.services.clock.now())
        if signed is None:
            raise PermissionDenied("请先登录：在与机器人的私聊中发送 /console，打开它回复的链接。")
        return signed

    def _page(self, build: Callable[[Session, Person, web.Request], Page]) -> Callable:
        async def handler(request: web.Request) -> web.Response:
            def work(session: Session) -> str:
                signed = self._viewer(session, request)
                template, context = build(session, signed.person, request)
                return TEMPLATES.get_template(template).render(viewer=signed.person, csrf=signed.csrf, **context)

            return web.Response(text=await self._run(work), content_type="text/html")

        return handler

    def _form(self, act: Callable[[Session, ConsoleSession, web.Request, dict], str]) -> Callable:
        async def handler(request: web.Request) -> web.StreamResponse:
            # Whoever is not signed in is refused before their body is parsed.
            await self._run(lambda session: self._viewer(session, request))
            form = await _read_form(request)

            def work(session: Session) -> str:
                signed = self._viewer(session, request)
                auth.check_csrf(signed, str(form.get("csrf", "")))
                return act(session, signed, request, form)

            return self._redirect(await self._run(work))

        return handler

    def _file(self, build: Callable[[Session, Person, web.Request], tuple[bytes, str, str]]) -> Callable:
        async def handler(request: web.Request) -> web.Response:
            content, name, kind = await self._run(
                lambda session: build(session, self._viewer(session, request).person, request)
            )
            disposition = f"attachment; filename*=UTF-8''{quote(name)}"
            return web.Response(body=content, content_type=kind, headers={"Content-Disposition": disposition})

        return handler

    @staticmethod
    def _redirect(location: str) -> web.Response:
        raise web.HTTPSeeOther(location)

    async def _home(self, request: web.Request) -> web.Response:
        return self._redirect("/leaves")

    # ----- login ---------------------------------------------------------------------------------

    async def _login_page(self, request: web.Request) -> web.Response:
        """What the link opens: whom it signs in (and whom this browser is now), and the button."""
        token, now = request.match_info["token"], self.services.clock.now()

        def work(session: Session) -> tuple[str, str | None]:
            person = auth.login_person(session, token, now)
            current = auth.signed_in(session, request.cookies.get(COOKIE), now)
            if current is None or current.person_id == person.id:
                return _who(person), None
            return _who(person), _who(current.person)  # switching from whom this browser is now

        person, current = await self._run(work)
        check = secrets.token_urlsafe(24)
        body = TEMPLATES.get_template("login.html").render(person=person, current=current, check=check, viewer=None)
        response = web.Response(text=body, content_type="text/html")
        self._set_cookie(response, LOGIN_CHECK, check, auth.LOGIN_VALID, "Strict", "/login/")
        return response

    async def _login(self, request: web.Request) -> web.Response:
        """The login page's button: uses the link up and starts a session (ending this browser's old one)."""
        token, form = request.match_info["token"], await _read_form(request)
        check = request.cookies.get(LOGIN_CHECK, "")
        if not check or not hmac.compare_digest(check, str(form.get("check", ""))):
            raise PermissionDenied("登录页面已失效，请重新打开登录链接。")
        old_session = request.cookies.get(COOKIE)

        def work(session: Session) -> str:
            if old_session:
                auth.sign_out(session, old_session)
            return auth.redeem_login(session, token, self.services.clock.now())

        session_id = await self._run(work)
        response = web.HTTPSeeOther("/leaves")
        self._set_cookie(response, COOKIE, session_id, auth.SESSION_VALID, "Lax", "/")
        response.del_cookie(LOGIN_CHECK, path="/login/", secure=self._secure_cookies, samesite="Strict")
        raise response

    def _set_cookie(
        self, response: web.StreamResponse, name: str, value: str, lifetime: timedelta, samesite: str, path: str
    ) -> None:
        """An HttpOnly cookie, Secure when browsers reach the console over HTTPS."""
        response.set_cookie(
            name,
            value,
            max_age=int(lifetime.total_seconds()),
            httponly=True,
            samesite=samesite,
            path=path,
            secure=self._secure_cookies,
        )

    def _logout(self, session: Session, signed: ConsoleSession, request: web.Request, form: dict) -> str:
        auth.sign_out(session, request.cookies.get(COOKIE, ""))
        return "/signed-out"

    async def _signed_out(self, request: web.Request) -> web.Response:
        return _message(200, "已退出", "已退出办公室控制台。再次使用时，在与机器人的私聊中发送 /console。")

    # ----- pages ---------------------------------------------------------------------------------

    def _leaves(self, session: Session, viewer: Person, request: web.Request) -> Page:
        today = self.services.clock.today()
        year, month = _month(request.query.get("month"), today)
        department = request.query.get("dept") or None
        workdays = self.services.context(session).calendar
        month_view = views.leave_calendar(session, viewer, year, month, department, workdays, self._group_told)
        layout = request.query.get("view") if request.query.get("view") in ("month", "list") else None
        return "leaves.html", {"page": "leaves", "view": month_view, "today": today, "layout": layout}

    def _leave(self, session: Session, viewer: Person, request: web.Request) -> Page:
        detail = views.leave_detail(session, viewer, _id(request), self.services.settings.timezone)
        return "leave.html", {"page": "leaves", "detail": detail}

    def _topics(self, session: Session, viewer: Person, request: web.Request) -> Page:
        return "topics.html", {"page": "topics", "board": views.topic_board(session, viewer, self.services.clock.now())}

    def _topic(self, session: Session, viewer: Person, request: web.Request) -> Page:
        zone, now = self.services.settings.timezone, self.services.clock.now()
        return "topic.html", {"page": "topics", "view": views.topic_page(session, viewer, _id(request), zone, now)}

    def _deadlines(self, session: Session, viewer: Person, request: web.Request) -> Page:
        today = self.services.clock.today()
        found = views.deadlines(session, viewer, today, self.services.context(session).calendar)
        return "deadlines.html", {"page": "deadlines", "view": found, "today": today}

    def _questions(self, session: Session, viewer: Person, request: web.Request) -> Page:
        zone = self.services.settings.timezone
        report = views.question_report(session, viewer, self.services.clock.today(), zone)
        queue = curated.queue(session, self.services.rules_engine) if self.services.engine else []
        return "questions.html", {"page": "questions", "report": report, "queue": queue[:20]}

    def _feeds(self, session: Session, viewer: Person, request: web.Request) -> Page:
        created = request.query.get("new")
        return "feeds.html", {
            "page": "feeds",
            "feeds": auth.feeds_of(session, viewer),
            "zone": self.services.settings.timezone,
            "new": created,
            "base": self.url,
            # Calendar apps subscribe to webcal: addresses (the same address, its scheme swapped).
            "webcal": "webcal" + self.url.removeprefix("https").removeprefix("http"),
        }

    def _create_feed(self, session: Session, signed: ConsoleSession, request: web.Request, form: dict) -> str:
        return f"/feeds?new={auth.create_feed(session, signed.person)}"

    def _revoke_feed(self, session: Session, signed: ConsoleSession, request: web.Request, form: dict) -> str:
        auth.revoke_feed(session, signed.person, _id(request), self.services.clock.now())
        return "/feeds"

    # ----- 规则库 ---------------------------------------------------------------------------------

    def _rules(self, session: Session, viewer: Person, request: web.Request) -> Page:
        views.require_admin(viewer)
        today = self.services.clock.today()
        shelf = rule_shelf(self.services.settings)
        done = {"published": "已发布", "retired": "已废止"}
        notice = next((f"{word}：{request.query[key]}" for key, word in done.items() if key in request.query), None)
        return "rules.html", {"page": "rules", "entries": rulebooks.entries(shelf, today), "notice": notice}

    def _staged_rulebook(self, session: Session, viewer: Person, request: web.Request) -> Page:
        views.require_admin(viewer)
        shelf = rule_shelf(self.services.settings)
        found = rulebooks.staged(shelf, request.match_info["name"], self.services.clock.today())
        return "rules_preview.html", {"page": "rules", "staged": found, "preview": None}

    async def _upload_rulebook(self, request: web.Request) -> web.Response:
        """An upload: staged and shown with its diff when it reads cleanly, else its preview with
        every problem (nothing staged)."""
        # Whoever is not a signed-in admin is refused before the file is read.
        await self._run(lambda session: views.require_admin(self._viewer(session, request).person))
        form = await _read_form(request)

        def work(session: Session) -> tuple[str, str | None]:
            signed = self._viewer(session, request)
            views.require_admin(signed.person)
            auth.check_csrf(signed, str(form.get("csrf", "")))
            upload = form.get("file")
            if not isinstance(upload, web.FileField) or not upload.filename:
                raise InvalidInput("请选择要上传的规则文件（.docx、.pdf 或 .txt）。")
            shelf = rule_shelf(self.services.settings)
            today = self.services.clock.today()
            preview, name = rulebooks.preview_upload(
                shelf, upload.filename, upload.file, rulebooks.particulars(form), today
            )
            if name is not None:
                return "", f"/rules/staged/{quote(name)}"
            page = TEMPLATES.get_template("rules_preview.html").render(
                viewer=signed.person, csrf=signed.csrf, page="rules", staged=None, preview=preview
            )
            return page, None

        page, location = await self._run(work)
        if location is not None:
            self._redirect(location)
        return web.Response(text=page, content_type="text/html")

    def _publish_rulebook(self, session: Session, signed: ConsoleSession, request: web.Request, form: dict) -> str:
        views.require_admin(signed.person)
        name = request.match_info["name"]
        rulebooks.publish(rule_shelf(self.services.settings), name)
        return f"/rules?published={quote(name)}"

    def _retire_rulebook(self, session: Session, signed: ConsoleSession, request: web.Request, form: dict) -> str:
        views.require_admin(signed.person)
        name = request.match_info["name"]
        rulebooks.retire(rule_shelf(self.services.settings), name)
        return f"/rules?retired={quote(name)}"

    # ----- files ---------------------------------------------------------------------------------

    def _export_leaves(self, session: Session, viewer: Person, request: web.Request) -> tuple[bytes, str, str]:
        views.require_admin(viewer)
        try:
            start, end = date.fromisoformat(request.query["start"]), date.fromisoformat(request.query["end"])
        except (KeyError, ValueError):
            raise InvalidInput("请给出起止日期，如 ?start=2026-12-01&end=2026-12-31。") from None
        fmt = "csv" if request.query.get("format") == "csv" else "xlsx"
        rows = leave_service.requests_in_period(session, start, end)
        content, name = export_file(rows, start, end, fmt, self.services.settings.timezone)
        return content, name, _CONTENT_TYPES[fmt]

    def _export_topic(self, session: Session, viewer: Person, request: web.Request) -> tuple[bytes, str, str]:
        topic, history = views.topic_history(session, viewer, _id(request), self.services.settings.timezone)
        return (*topics.history_file(topic, history), "text/csv")

    async def _ical(self, request: web.Request) -> web.Response:
        token = request.match_info["token"].removesuffix(".ics")

        def work(session: Session) -> bytes | None:
            owner = auth.feed_owner(session, token)
            return None if owner is None else _calendar(session, owner, self._group_told, self.services.clock.now())

        content = await self._run(work)
        if content is None:
            raise web.HTTPNotFound()
        return web.Response(body=content, content_type="text/calendar", charset="utf-8")


async def _forbid_framing(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(FRAMING_HEADERS)


async def _read_form(request: web.Request) -> dict[str, Any]:
    """The posted form; a body that is not one (a broken multipart, bad encoding) is a 400 page."""
    try:
        return dict(await request.post())
    except web.HTTPRequestEntityTooLarge:
        limit = rulebooks.MAX_UPLOAD_BYTES // (1024 * 1024)
        raise InvalidInput(f"上传的文件太大（上限 {limit} 兆字节）。") from None
    except (ValueError, HttpProcessingError):
        raise InvalidInput("表单无法读取，请刷新页面后重试。") from None


def _who(person: Person) -> str:
    return f"{person.name}（{person.position}）"


def _calendar(session: Session, owner: Person, group_told: bool, now: datetime) -> bytes:
    """The owner's feed; every event carries the DTSTAMP RFC 5545 requires (when the feed was made)."""
    feed = icalendar.Calendar()
    feed.add("prodid", "-//zhengwu-bot//leave//ZH")
    feed.add("version", "2.0")
    feed.add("x-wr-calname", f"请假 · {owner.name}")
    for request in views.leaves_for_feed(session, owner, group_told):
        event = icalendar.Event()
        event.add("uid", f"leave-{request.id}@zhengwu-bot")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("summary", views.feed_summary(owner, request))
        assert request.end_date is not None  # the feed shows dated leaves only
        event.add("dtstart", request.start_date)
        event.add("dtend", request.end_date + timedelta(days=1))
        if request.acting:
            event.add("description", f"期间由 {request.acting.name} 代行职责")
        feed.add_component(event)
    return feed.to_ical()


def _month(text: str | None, today: date) -> tuple[int, int]:
    if not text:
        return today.year, today.month
    try:
        year, month = (int(part) for part in text.split("-"))
        date(year, month, 1)
    except ValueError:
        raise InvalidInput(f"月份应写成 2026-12，收到 {text[:20]!r}。") from None
    return year, month


def _id(request: web.Request) -> int:
    value = request.match_info["id"]
    if not value.isdigit() or len(value) > 12:
        raise NotFound("找不到这一项。")
    return int(value)


def _message(status: int, title: str, text: str) -> web.Response:
    """An error or notice page, with the console's links (it does not know who is signed in)."""
    body = TEMPLATES.get_template("message.html").render(title=title, text=text, viewer=None, csrf="", links=True)
    return web.Response(status=status, text=body, content_type="text/html")
