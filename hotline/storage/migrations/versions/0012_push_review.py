"""staff review of pushes: citizen_push.updated_at, retried_by, retried_at; index on created_at

Rows before this revision get ``updated_at`` = ``sent_at`` when they were sent, else
``created_at``: when a dead or expired row last changed was not recorded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('citizen_push', sa.Column('updated_at', UTCDateTime(), nullable=True))
    op.add_column('citizen_push', sa.Column('retried_by', sa.String(length=100), nullable=True))
    op.add_column('citizen_push', sa.Column('retried_at', UTCDateTime(), nullable=True))
    pushes = sa.table(
        'citizen_push',
        sa.column('created_at', UTCDateTime()),
        sa.column('sent_at', UTCDateTime()),
        sa.column('updated_at', UTCDateTime()),
    )
    op.execute(
        pushes.update().values(
            updated_at=sa.func.coalesce(pushes.c.sent_at, pushes.c.created_at)
        )
    )
    with op.batch_alter_table('citizen_push', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=UTCDateTime(), nullable=False)
    op.create_index('ix_citizen_push_created_at', 'citizen_push', ['created_at'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_citizen_push_created_at', table_name='citizen_push')
    with op.batch_alter_table('citizen_push', schema=None) as batch_op:
        batch_op.drop_column('retried_at')
        batch_op.drop_column('retried_by')
        batch_op.drop_column('updated_at')
