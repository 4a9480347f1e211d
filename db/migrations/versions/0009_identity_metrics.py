"""identity by faces: reference faces by image hash, faces per take, identity scores, research metrics

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reference_faces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('extractor', sa.String(length=300), nullable=False),
    sa.Column('faces', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_faces')),
    sa.UniqueConstraint('sha256', 'extractor', name=op.f('uq_reference_faces_sha256_extractor'))
    )
    op.create_table('take_faces',
    sa.Column('take_id', sa.Integer(), nullable=False),
    sa.Column('extractor', sa.String(length=300), nullable=False),
    sa.Column('frames', sa.JSON(), nullable=False),
    sa.Column('faces', sa.JSON(), nullable=False),
    sa.Column('unknown', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_take_faces_take_id_takes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('take_id', name=op.f('pk_take_faces'))
    )
    op.create_table('identity_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('take_id', sa.Integer(), nullable=False),
    sa.Column('character', sa.String(length=100), nullable=False),
    sa.Column('extractor', sa.String(length=300), nullable=False),
    sa.Column('similarity', sa.Float(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('sampled', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_identity_scores_take_id_takes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_scores')),
    sa.UniqueConstraint('take_id', 'character', name=op.f('uq_identity_scores_take_id_character'))
    )
    with op.batch_alter_table('identity_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_scores_take_id'), ['take_id'], unique=False)
    op.create_table('identity_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.String(length=100), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=True),
    sa.Column('metric', sa.String(length=50), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('extractor', sa.String(length=300), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_identity_metrics_episode_id_episodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_identity_metrics_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_metrics'))
    )
    with op.batch_alter_table('identity_metrics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_metrics_episode_id'), ['episode_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_metrics_series_id'), ['series_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_metrics_series_id'))
        batch_op.drop_index(batch_op.f('ix_identity_metrics_episode_id'))
    op.drop_table('identity_metrics')
    with op.batch_alter_table('identity_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_scores_take_id'))
    op.drop_table('identity_scores')
    op.drop_table('take_faces')
    op.drop_table('reference_faces')
