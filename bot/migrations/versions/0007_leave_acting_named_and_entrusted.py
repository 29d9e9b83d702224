"""leave: the acting person the requester named, and the 副区长 the 区长 entrusted (Art. 9)

The acting person of a leave is derived (Art. 79, Art. 9) and re-derived when other leaves change;
the requester's own choice and the 区长's entrustment are what it is derived from.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("named_acting_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("entrusted_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_leave_requests_named_acting_id_people"), "people", ["named_acting_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_leave_requests_entrusted_id_people"), "people", ["entrusted_id"], ["id"]
        )
    # Until now the acting person was the one named.
    op.execute("UPDATE leave_requests SET named_acting_id = acting_id")


def downgrade() -> None:
    with op.batch_alter_table("leave_requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_leave_requests_entrusted_id_people"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_leave_requests_named_acting_id_people"), type_="foreignkey")
        batch_op.drop_column("entrusted_id")
        batch_op.drop_column("named_acting_id")
