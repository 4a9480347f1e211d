"""model calls: the ledger of every model call and the durable record of remote jobs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('model_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('take_id', sa.Integer(), nullable=True),
    sa.Column('shot_id', sa.Integer(), nullable=True),
    sa.Column('episode_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('segment_index', sa.Integer(), nullable=True),
    sa.Column('backend', sa.String(length=50), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('device', sa.String(length=200), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('endpoint', sa.Text(), nullable=True),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('provider_task_id', sa.String(length=200), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('wall_seconds', sa.Float(), nullable=True),
    sa.Column('device_seconds', sa.Float(), nullable=True),
    sa.Column('billed_units', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=30), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=10), nullable=True),
    sa.Column('cost_source', sa.String(length=20), nullable=False),
    sa.Column('retake', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_model_calls_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_model_calls_episode_id_episodes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_model_calls_series_id_series'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shot_id'], ['shots.id'], name=op.f('fk_model_calls_shot_id_shots'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_model_calls_take_id_takes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_calls')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_model_calls_idempotency_key'))
    )
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        for column in ('asset_id', 'episode_id', 'provider_task_id', 'series_id', 'shot_id', 'state', 'take_id'):
            batch_op.create_index(batch_op.f(f'ix_model_calls_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('model_calls')
