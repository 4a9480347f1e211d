"""dashboard: people who sign in, the retake queue, episode cuts for review, poster frames of clips

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:39:04.452602
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('name', name=op.f('uq_users_name'))
    )
    op.create_table('asset_previews',
    sa.Column('source_asset_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_previews_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_asset_id'], ['assets.id'], name=op.f('fk_asset_previews_source_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('source_asset_id', 'kind', name=op.f('pk_asset_previews'))
    )
    op.create_table('episode_cuts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('render_run_id', sa.Integer(), nullable=True),
    sa.Column('video_asset_id', sa.Integer(), nullable=False),
    sa.Column('subtitles_asset_id', sa.Integer(), nullable=True),
    sa.Column('manifest_asset_id', sa.Integer(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_episode_cuts_episode_id_episodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['manifest_asset_id'], ['assets.id'], name=op.f('fk_episode_cuts_manifest_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['render_run_id'], ['render_runs.id'], name=op.f('fk_episode_cuts_render_run_id_render_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subtitles_asset_id'], ['assets.id'], name=op.f('fk_episode_cuts_subtitles_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['video_asset_id'], ['assets.id'], name=op.f('fk_episode_cuts_video_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_episode_cuts'))
    )
    with op.batch_alter_table('episode_cuts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_episode_cuts_episode_id'), ['episode_id'], unique=False)

    op.create_table('retakes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shot_id', sa.Integer(), nullable=False),
    sa.Column('rejected_take_id', sa.Integer(), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filled_take_id', sa.Integer(), nullable=True),
    sa.Column('filled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['filled_take_id'], ['takes.id'], name=op.f('fk_retakes_filled_take_id_takes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rejected_take_id'], ['takes.id'], name=op.f('fk_retakes_rejected_take_id_takes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['reviews.id'], name=op.f('fk_retakes_review_id_reviews'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shot_id'], ['shots.id'], name=op.f('fk_retakes_shot_id_shots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retakes'))
    )
    with op.batch_alter_table('retakes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retakes_shot_id'), ['shot_id'], unique=False)

def downgrade() -> None:
    with op.batch_alter_table('retakes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retakes_shot_id'))

    op.drop_table('retakes')
    with op.batch_alter_table('episode_cuts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_episode_cuts_episode_id'))

    op.drop_table('episode_cuts')
    op.drop_table('asset_previews')
    op.drop_table('users')
