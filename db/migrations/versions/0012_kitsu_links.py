"""kitsu links: the Kitsu id of each synced row, so pushes update and resume

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kitsu_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('row_id', sa.String(length=100), nullable=False),
    sa.Column('kitsu_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kitsu_links')),
    sa.UniqueConstraint('host', 'kind', 'kitsu_id', name=op.f('uq_kitsu_links_host_kind_kitsu_id'))
    )
    with op.batch_alter_table('kitsu_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kitsu_links_host_kind_row_id'), ['host', 'kind', 'row_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kitsu_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kitsu_links_host_kind_row_id'))

    op.drop_table('kitsu_links')
