"""Issue 13: weights files uploaded on their own, and the weights a submission refers to.

Revision ID: 0004_weight_uploads
Revises: 0003_site
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_weight_uploads"
down_revision: Union[str, Sequence[str], None] = "0003_site"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Idempotent, as 0003: a database made by create_all is stamped with the baseline yet may hold these already.
    inspector = sa.inspect(op.get_bind())
    if "weights" not in {column["name"] for column in inspector.get_columns("submissions")}:
        op.add_column("submissions", sa.Column("weights", sa.JSON(), nullable=True))
    if "weight_uploads" in inspector.get_table_names():
        return
    op.create_table(
        "weight_uploads",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_id", "sha256", name="uq_weight_upload_owner_sha256"),
    )
    op.create_index("ix_weight_uploads_owner_id", "weight_uploads", ["owner_id"])
    op.create_index("ix_weight_uploads_sha256", "weight_uploads", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_weight_uploads_sha256", table_name="weight_uploads")
    op.drop_index("ix_weight_uploads_owner_id", table_name="weight_uploads")
    op.drop_table("weight_uploads")
    with op.batch_alter_table("submissions") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("weights")
