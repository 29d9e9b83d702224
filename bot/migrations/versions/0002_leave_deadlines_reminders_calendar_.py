"""leave, deadlines, reminders, calendar overrides

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blocked_chats",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_blocked_chats")),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_overrides")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("article", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("workdays", sa.Integer(), nullable=True),
        sa.Column("calendar_warning", sa.Text(), nullable=True),
        sa.Column("department", sa.String(length=128), nullable=True),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open','done','cancelled')", name=op.f("ck_deadlines_status")),
        sa.ForeignKeyConstraint(["approver_id"], ["people.id"], name=op.f("fk_deadlines_approver_id_people")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["people.id"], name=op.f("fk_deadlines_closed_by_id_people")),
        sa.ForeignKeyConstraint(["requester_id"], ["people.id"], name=op.f("fk_deadlines_requester_id_people")),
        sa.ForeignKeyConstraint(["responsible_id"], ["people.id"], name=op.f("fk_deadlines_responsible_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadlines_source"), ["source"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadlines_status"), ["status"], unique=False)

    op.create_table(
        "leave_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("filled", sa.JSON(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("meeting", sa.String(length=32), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("start_half", sa.String(length=2), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_half", sa.String(length=2), nullable=True),
        sa.Column("destination", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("acting_id", sa.Integer(), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("article", sa.Integer(), nullable=True),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("ab_conflict", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_report", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','pending','approved','rejected','returned','withdrawn','completed')",
            name=op.f("ck_leave_requests_status"),
        ),
        sa.ForeignKeyConstraint(["acting_id"], ["people.id"], name=op.f("fk_leave_requests_acting_id_people")),
        sa.ForeignKeyConstraint(["approver_id"], ["people.id"], name=op.f("fk_leave_requests_approver_id_people")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["people.id"], name=op.f("fk_leave_requests_decided_by_id_people")),
        sa.ForeignKeyConstraint(["requester_id"], ["people.id"], name=op.f("fk_leave_requests_requester_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_requests")),
    )
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_requests_requester_id"), ["requester_id"], unique=False)

    op.create_table(
        "pending_inputs",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_pending_inputs_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_pending_inputs")),
    )
    op.create_table(
        "leave_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_leave_events_actor_id_people")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["leave_requests.id"],
            name=op.f("fk_leave_events_request_id_leave_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_events")),
    )
    with op.batch_alter_table("leave_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leave_events_request_id"), ["request_id"], unique=False)

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','claimed','sent','failed','cancelled')", name=op.f("ck_reminders_status")
        ),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadlines.id"], name=op.f("fk_reminders_deadline_id_deadlines"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("deadline_id", "purpose", "chat_id", "send_at", name="uq_reminders_slot"),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_deadline_id"), ["deadline_id"], unique=False)
        batch_op.create_index("ix_reminders_due", ["status", "send_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_due")
        batch_op.drop_index(batch_op.f("ix_reminders_deadline_id"))

    op.drop_table("reminders")
    with op.batch_alter_table("leave_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_events_request_id"))

    op.drop_table("leave_events")
    op.drop_table("pending_inputs")
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leave_requests_requester_id"))

    op.drop_table("leave_requests")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadlines_status"))
        batch_op.drop_index(batch_op.f("ix_deadlines_source"))

    op.drop_table("deadlines")
    op.drop_table("calendar_overrides")
    op.drop_table("blocked_chats")
