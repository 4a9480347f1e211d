"""shots.selected_take_id references takes on every database

0001 declared this foreign key with use_alter (shots and takes name each other), which create_table leaves out:
SQLite got it inline, PostgreSQL never got it. This adds it where it is missing.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 'fk_shots_selected_take_id_takes'


def _has_key() -> bool:
    return any(key['name'] == NAME for key in sa.inspect(op.get_bind()).get_foreign_keys('shots'))


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite' or _has_key():
        return
    op.execute(sa.text('UPDATE shots SET selected_take_id = NULL '
                       'WHERE selected_take_id IS NOT NULL AND selected_take_id NOT IN (SELECT id FROM takes)'))
    op.create_foreign_key(NAME, 'shots', 'takes', ['selected_take_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite' and _has_key():
        op.drop_constraint(NAME, 'shots', type_='foreignkey')
