"""Issue 14: the score history the leaderboard's ``as_of`` reads, model cards, and resource usage per job.

Revision ID: 0003_site
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_site"
down_revision: Union[str, Sequence[str], None] = "0002_hostile_users"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Idempotent: a database made by create_all before migrations existed is stamped with the baseline
    # (core.db.migrate) yet may already hold these tables and columns.
    inspector = sa.inspect(op.get_bind())
    columns = {table: {column["name"] for column in inspector.get_columns(table)} for table in ("submissions", "jobs")}
    new_columns = [("submissions", sa.Column("model_cards", sa.JSON(), nullable=True)),
                   ("jobs", sa.Column("wall_seconds", sa.Float(), nullable=True)),
                   ("jobs", sa.Column("cpu_seconds", sa.Float(), nullable=True)),
                   ("jobs", sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True)),
                   ("jobs", sa.Column("cache_hit", sa.Boolean(), nullable=True))]
    for table, column in new_columns:
        if column.name not in columns[table]:
            op.add_column(table, column)
    if "score_history" in inspector.get_table_names():
        return
    op.create_table(
        "score_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("benchmark", sa.String(length=255), nullable=False),
        sa.Column("benchmark_version", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=32), nullable=True),
        sa.Column("raw", sa.Float(), nullable=True),
        sa.Column("error", sa.Float(), nullable=True),
        sa.Column("ceiling", sa.Float(), nullable=True),
        sa.Column("ceiled", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_score_history_submission_id", "score_history", ["submission_id"])
    op.create_index("ix_score_history_recorded", "score_history", ["recorded_at"])
    # Scores recorded before this revision start the history.
    op.execute("INSERT INTO score_history (submission_id, job_id, model, benchmark, benchmark_version, region, "
               "raw, error, ceiling, ceiled, recorded_at) SELECT submission_id, job_id, model, benchmark, "
               "benchmark_version, region, raw, error, ceiling, ceiled, created_at FROM scores")


def downgrade() -> None:
    op.drop_column("submissions", "model_cards")
    for column in ("cache_hit", "peak_memory_bytes", "cpu_seconds", "wall_seconds"):
        op.drop_column("jobs", column)
    op.drop_index("ix_score_history_recorded", table_name="score_history")
    op.drop_index("ix_score_history_submission_id", table_name="score_history")
    op.drop_table("score_history")
