"""takes have a kind: a clip, or a keyframe

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:45:01.158425
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('takes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='clip', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('takes', schema=None) as batch_op:
        batch_op.drop_column('kind')
