"""WeCom: members' accounts on the roster, questions asked in WeCom, callbacks accepted once

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wecom_userid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_people_wecom_userid"), ["wecom_userid"])
    # A question asked in WeCom has no Telegram account or chat.
    with op.batch_alter_table("question_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wecom_userid", sa.String(length=64), nullable=True))
        batch_op.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_table(
        "wecom_callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wecom_callbacks")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_wecom_callbacks_dedupe_key")),
    )
    op.create_index(op.f("ix_wecom_callbacks_received_at"), "wecom_callbacks", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wecom_callbacks_received_at"), table_name="wecom_callbacks")
    op.drop_table("wecom_callbacks")
    # Questions asked in WeCom have no Telegram identity to keep.
    op.execute("DELETE FROM question_log WHERE telegram_user_id IS NULL OR chat_id IS NULL")
    with op.batch_alter_table("question_log", schema=None) as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column("telegram_user_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("wecom_userid")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_people_wecom_userid"), type_="unique")
        batch_op.drop_column("wecom_userid")
