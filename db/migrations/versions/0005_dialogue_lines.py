"""dialogue lines: audio source and what speech recognition heard

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:44:47.912910
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dialogue_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shot_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('speaker', sa.String(length=200), nullable=False, server_default=''),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('overrun', sa.Float(), nullable=False, server_default='0'),
    sa.Column('heard', sa.Text(), nullable=False, server_default=''),
    sa.Column('wer', sa.Float(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column('transcriber', sa.String(length=300), nullable=False, server_default=''),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_dialogue_lines_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shot_id'], ['shots.id'], name=op.f('fk_dialogue_lines_shot_id_shots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dialogue_lines')),
    sa.UniqueConstraint('shot_id', 'code', name=op.f('uq_dialogue_lines_shot_id_code'))
    )
    with op.batch_alter_table('dialogue_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dialogue_lines_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dialogue_lines_shot_id'), ['shot_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dialogue_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dialogue_lines_shot_id'))
        batch_op.drop_index(batch_op.f('ix_dialogue_lines_asset_id'))

    op.drop_table('dialogue_lines')
