"""Outbox rows and cards name whom they are for (person:<id>, group:<name>, chat:<id>) instead of a
Telegram chat id, so the channel the bot runs on resolves them; a card's message handle is text
(WeCom's is a task id and a response code); undeliverable recipients likewise.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# A row's Telegram chat as a recipient: the roster person whose private chat it is, else the chat by its id.
_RECIPIENT_OF_CHAT = (
    "COALESCE((SELECT 'person:' || CAST(p.id AS VARCHAR(20)) FROM people p WHERE p.telegram_user_id = {t}.chat_id),"
    " 'chat:' || CAST({t}.chat_id AS VARCHAR(24)))"
)
# And back: a person's bound account or the chat's id; NULL for what only WeCom can reach.
_CHAT_OF_RECIPIENT = (
    "CASE WHEN {t}.recipient LIKE 'chat:%' THEN CAST(SUBSTR({t}.recipient, 6) AS BIGINT)"
    " ELSE (SELECT p.telegram_user_id FROM people p WHERE 'person:' || CAST(p.id AS VARCHAR(20)) = {t}.recipient) END"
)


def upgrade() -> None:
    for table in ("outbox", "cards"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("recipient", sa.String(length=80), nullable=True))
        op.execute(f"UPDATE {table} SET recipient = {_RECIPIENT_OF_CHAT.format(t=table)}")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("recipient", existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_column("chat_id")
    with op.batch_alter_table("cards") as batch_op:
        batch_op.alter_column("recipient", existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_column("chat_id")
        batch_op.alter_column(
            "message_id",
            existing_type=sa.BigInteger(),
            type_=sa.String(length=200),
            postgresql_using="message_id::text",
        )
    op.drop_table("blocked_chats")
    _blocked_chats(sa.Column("recipient", sa.String(length=80), nullable=False))


def downgrade() -> None:
    op.drop_table("blocked_chats")
    _blocked_chats(sa.Column("chat_id", sa.BigInteger(), nullable=False))
    for table in ("cards", "outbox"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        op.execute(f"UPDATE {table} SET chat_id = {_CHAT_OF_RECIPIENT.format(t=table)}")
    # What went to WeCom has no Telegram chat to keep.
    op.execute("DELETE FROM outbox WHERE chat_id IS NULL OR card_id IN (SELECT id FROM cards WHERE chat_id IS NULL)")
    op.execute("DELETE FROM cards WHERE chat_id IS NULL")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("recipient")
    with op.batch_alter_table("cards") as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("recipient")
        batch_op.alter_column(
            "message_id",
            existing_type=sa.String(length=200),
            type_=sa.BigInteger(),
            postgresql_using="message_id::bigint",
        )


def _blocked_chats(key: sa.Column) -> None:
    op.create_table(
        "blocked_chats",
        key,
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(key.name, name=op.f("pk_blocked_chats")),
    )
