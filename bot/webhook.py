"""Webhook mode's two secrets: the token Telegram sends with every update (header
X-Telegram-Bot-Api-Secret-Token, checked by PTB before an update is read) and the path it posts to.

The secret comes from TELEGRAM_WEBHOOK_SECRET, or is generated once and kept in the data folder, so
that a restart registers the same one. The path is derived from it: not guessable, and knowing the
path does not give the secret.
"""

import hashlib
import secrets

from bot.config import Settings
from bot.datadir import write_private

SECRET_FILE = "webhook-secret"


def webhook_secret(settings: Settings) -> str:
    """The secret_token for setWebhook: the environment's, else the data folder's (made if missing)."""
    if settings.telegram.webhook_secret is not None:
        return settings.telegram.webhook_secret
    kept = settings.data_dir / SECRET_FILE
    if kept.exists():
        return kept.read_text(encoding="ascii").strip()
    secret = secrets.token_urlsafe(32)  # the Bot API's alphabet: A-Z a-z 0-9 _ -
    write_private(kept, secret.encode("ascii"))
    return secret


def webhook_path(secret: str) -> str:
    """The URL path the bot listens on and registers (without the leading slash)."""
    return "telegram/" + hashlib.sha256(f"zhengwu-webhook-path:{secret}".encode()).hexdigest()[:40]


def webhook_url(settings: Settings, secret: str) -> str:
    """The whole address given to setWebhook: the configured public base and the secret path."""
    return f"{settings.telegram.webhook_url}/{webhook_path(secret)}"
