"""the director's loop: circled takes, notes at a frame, retakes that ask for more takes or changes, film jobs
(render runs with a scope, who started them, their progress), dailies playlists

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('reviews', sa.Column('frame', sa.Integer(), nullable=True))
    op.add_column('reviews', sa.Column('region', sa.JSON(), nullable=True))
    op.add_column('retakes', sa.Column('more_takes', sa.Integer(), nullable=True))
    op.add_column('retakes', sa.Column('changes', sa.JSON(), nullable=True))
    for column in (sa.Column('scope', sa.JSON(), nullable=True), sa.Column('takes', sa.Integer(), nullable=True),
                   sa.Column('started_by', sa.String(length=200), nullable=True),
                   sa.Column('progress', sa.JSON(), nullable=True),
                   sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
                   sa.Column('worker_pid', sa.Integer(), nullable=True)):
        op.add_column('render_runs', column)
    op.create_table('circled_takes',
    sa.Column('shot_id', sa.Integer(), nullable=False),
    sa.Column('take_id', sa.Integer(), nullable=False),
    sa.Column('circled_by', sa.String(length=200), nullable=False),
    sa.Column('circled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shot_id'], ['shots.id'], name=op.f('fk_circled_takes_shot_id_shots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_circled_takes_take_id_takes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shot_id', name=op.f('pk_circled_takes'))
    )
    with op.batch_alter_table('circled_takes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_circled_takes_take_id'), ['take_id'], unique=False)
    op.create_table('playlists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlists'))
    )
    op.create_table('playlist_takes',
    sa.Column('playlist_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('take_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['playlist_id'], ['playlists.id'], name=op.f('fk_playlist_takes_playlist_id_playlists'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['take_id'], ['takes.id'], name=op.f('fk_playlist_takes_take_id_takes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('playlist_id', 'position', name=op.f('pk_playlist_takes'))
    )
    with op.batch_alter_table('playlist_takes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlist_takes_take_id'), ['take_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('playlist_takes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playlist_takes_take_id'))
    op.drop_table('playlist_takes')
    op.drop_table('playlists')
    with op.batch_alter_table('render_runs', schema=None) as batch_op:
        for name in ('worker_pid', 'progress_at', 'progress', 'started_by', 'takes', 'scope'):
            batch_op.drop_column(name)
    with op.batch_alter_table('retakes', schema=None) as batch_op:
        batch_op.drop_column('changes')
        batch_op.drop_column('more_takes')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('region')
        batch_op.drop_column('frame')
    with op.batch_alter_table('circled_takes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_circled_takes_take_id'))
    op.drop_table('circled_takes')
