"""workflow kernel: versions, one audit trail, cards and the outbox (reminders become outbox cards);
topics.step widened to 64

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("leave_requests", "topics", "deadlines"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("topics") as batch:
        # check:<materials key> steps outgrew 24 characters (PostgreSQL refused them; SQLite does not check).
        batch.alter_column("step", type_=sa.String(length=64), existing_type=sa.String(length=24))
    with op.batch_alter_table("pending_inputs") as batch:
        batch.add_column(sa.Column("target_version", sa.Integer(), nullable=True))
    op.create_table(
        "workflow_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_workflow_events_actor_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_events")),
    )
    op.create_index("ix_workflow_events_subject", "workflow_events", ["subject", "subject_id"])
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("stage", sa.Integer(), nullable=True),
        sa.Column("shown_version", sa.Integer(), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_cards_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
    )
    op.create_index("ix_cards_subject", "cards", ["subject", "subject_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("template", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("working_hours_only", sa.Boolean(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','claimed','sending','sent','unconfirmed','failed','cancelled')",
            name=op.f("ck_outbox_status"),
        ),
        sa.CheckConstraint("kind IN ('card','edit','notice')", name=op.f("ck_outbox_kind")),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_outbox_card_id_cards"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "send_at"])
    op.create_index(op.f("ix_outbox_card_id"), "outbox", ["card_id"])
    _carry_over()
    op.drop_table("leave_events")
    op.drop_table("topic_events")
    op.drop_table("reminders")


def _carry_over() -> None:
    """The old audit rows join the one trail; reminders still to send become outbox cards."""
    bind = op.get_bind()
    for table, subject, key in (("leave_events", "leave", "request_id"), ("topic_events", "topic", "topic_id")):
        bind.execute(
            sa.text(
                f"INSERT INTO workflow_events (subject, subject_id, at, actor_id, action, note) "
                f"SELECT '{subject}', {key}, at, actor_id, action, note FROM {table} ORDER BY id"
            )
        )
    pending = bind.execute(
        sa.text(
            "SELECT deadline_id, purpose, chat_id, send_at, created_at FROM reminders r "
            "JOIN deadlines d ON d.id = r.deadline_id WHERE r.status IN ('pending','claimed') ORDER BY r.id"
        )
    ).all()
    for deadline_id, purpose, chat_id, send_at, created_at in pending:
        card_id = bind.execute(
            sa.text(
                "INSERT INTO cards (subject, subject_id, role, chat_id, retired, created_at) "
                "VALUES ('deadline', :d, 'reminder', :c, :f, :t) RETURNING id"
            ),
            {"d": deadline_id, "c": chat_id, "f": False, "t": created_at},
        ).scalar_one()
        bind.execute(
            sa.text(
                "INSERT INTO outbox (kind, chat_id, card_id, template, payload, working_hours_only, send_at, "
                "status, attempts) VALUES ('card', :c, :card, :p, '{}', :w, :s, 'pending', 0)"
            ),
            {"c": chat_id, "card": card_id, "p": purpose, "w": True, "s": send_at},
        )


def downgrade() -> None:
    raise NotImplementedError("0004 carries data into new tables; restore a backup to go back")
