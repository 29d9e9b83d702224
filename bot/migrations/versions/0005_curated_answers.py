"""curated answers (the unanswered-question loop), tentative answers and 👎 reasons in the question log

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curated_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("articles", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("articles_digest", sa.String(length=64), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["people.id"], name=op.f("fk_curated_answers_created_by_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curated_answers")),
    )
    with op.batch_alter_table("question_log") as batch:
        batch.add_column(sa.Column("tentative", sa.Boolean(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("feedback_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("curated_answer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_foreign_key(
            op.f("fk_question_log_curated_answer_id_curated_answers"),
            "curated_answers",
            ["curated_answer_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            op.f("fk_question_log_resolved_by_id_curated_answers"),
            "curated_answers",
            ["resolved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("question_log") as batch:
        batch.drop_constraint(op.f("fk_question_log_resolved_by_id_curated_answers"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_question_log_curated_answer_id_curated_answers"), type_="foreignkey")
        for column in ("version", "resolved_by_id", "curated_answer_id", "feedback_reason", "tentative"):
            batch.drop_column(column)
    op.drop_table("curated_answers")
