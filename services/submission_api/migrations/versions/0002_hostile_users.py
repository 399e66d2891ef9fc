"""Issue 15: an anonymous submission's owner secret (only its SHA-256 is stored).

Revision ID: 0002_hostile_users
Revises: 0001
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002_hostile_users'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A database made by create_all before migrations existed is stamped with the baseline but may have it already.
    if 'owner_secret_hash' in {column['name'] for column in sa.inspect(op.get_bind()).get_columns('submissions')}:
        return
    with op.batch_alter_table('submissions') as batch:
        batch.add_column(sa.Column('owner_secret_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions') as batch:
        batch.drop_column('owner_secret_hash')
