"""storyboard approval and edits: the approved shot-list hash per episode, a person's edits per shot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:35:50.532080
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shotlist_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('shotlist_ending', sa.String(length=20), nullable=False, server_default='cut'))
        batch_op.add_column(sa.Column('shotlist_approved_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('shotlist_approved_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('shotlist_approved_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('shots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overrides', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('overrides_source_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('conflict', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('shots', schema=None) as batch_op:
        batch_op.drop_column('conflict')
        batch_op.drop_column('overrides_source_sha256')
        batch_op.drop_column('overrides')

    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.drop_column('shotlist_approved_at')
        batch_op.drop_column('shotlist_approved_by')
        batch_op.drop_column('shotlist_approved_sha256')
        batch_op.drop_column('shotlist_ending')
        batch_op.drop_column('shotlist_sha256')

