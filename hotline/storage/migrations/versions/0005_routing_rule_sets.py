"""routing rule sets edited through the staff API

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('routing_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version', name='uq_routing_rule_set_version')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('routing_rule_set')
