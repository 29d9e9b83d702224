"""meeting topics

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=True),
        sa.Column("filled", sa.JSON(), nullable=False),
        sa.Column("meeting_type", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("department", sa.String(length=128), nullable=True),
        sa.Column("deputy_id", sa.Integer(), nullable=True),
        sa.Column("matter_kind", sa.String(length=16), nullable=True),
        sa.Column("consulted", sa.Text(), nullable=True),
        sa.Column("desired_date", sa.Date(), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("agenda_order", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','in_review','accepted','returned','rejected','withdrawn','concluded')",
            name=op.f("ck_topics_status"),
        ),
        sa.ForeignKeyConstraint(["deputy_id"], ["people.id"], name=op.f("fk_topics_deputy_id_people")),
        sa.ForeignKeyConstraint(["requester_id"], ["people.id"], name=op.f("fk_topics_requester_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
    )
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topics_requester_id"), ["requester_id"], unique=False)

    op.create_table(
        "topic_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["people.id"], name=op.f("fk_topic_events_actor_id_people")),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_topic_events_topic_id_topics"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_events")),
    )
    with op.batch_alter_table("topic_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topic_events_topic_id"), ["topic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("topic_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topic_events_topic_id"))

    op.drop_table("topic_events")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topics_requester_id"))

    op.drop_table("topics")
