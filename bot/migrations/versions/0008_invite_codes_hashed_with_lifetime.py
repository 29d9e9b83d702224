"""invite codes: only their SHA-256 is kept, and each has an expiry

Codes issued before keep working, hashed, until 72 hours after they were made (the default
[bot] invite_valid_hours).

Revision ID: 0008
Revises: 0007
"""

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

EXISTING_VALID = timedelta(hours=72)


def upgrade() -> None:
    with op.batch_alter_table("invite_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    invites = sa.table(
        "invite_codes",
        sa.column("code", sa.String),
        sa.column("code_hash", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    for code, created_at in connection.execute(sa.select(invites.c.code, invites.c.created_at)).all():
        connection.execute(
            invites.update()
            .where(invites.c.code == code)
            .values(code_hash=hashlib.sha256(code.encode()).hexdigest(), expires_at=created_at + EXISTING_VALID)
        )
    with op.batch_alter_table("invite_codes", schema=None) as batch_op:
        batch_op.drop_constraint("pk_invite_codes", type_="primary")
        batch_op.drop_column("code")
        batch_op.alter_column("code_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_primary_key("pk_invite_codes", ["code_hash"])


def downgrade() -> None:
    # The codes themselves are gone: invites issued since cannot be restored, only dropped.
    op.execute("DELETE FROM invite_codes")
    with op.batch_alter_table("invite_codes", schema=None) as batch_op:
        batch_op.drop_constraint("pk_invite_codes", type_="primary")
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=False))
        batch_op.drop_column("code_hash")
        batch_op.drop_column("expires_at")
        batch_op.create_primary_key("pk_invite_codes", ["code"])
