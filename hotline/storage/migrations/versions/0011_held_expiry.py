"""held pushes expire (citizen_push.held_until); one notice per citizen (held_notice)

Rows held before this revision get ``held_until`` = ``created_at`` + 7 days (the default
``channels.wechat.max_hold_days``), and each citizen who has held rows counts as told from the
oldest of them, as the code before this revision would have told them at most once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 10:00:00.000000

"""
from datetime import timedelta
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MAX_HOLD = timedelta(days=7)


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('citizen_push', sa.Column('held_until', UTCDateTime(), nullable=True))
    op.create_table('held_notice',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('told_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'address')
    )
    pushes = sa.table(
        'citizen_push',
        sa.column('id', sa.Integer()),
        sa.column('channel', sa.String()),
        sa.column('address', sa.String()),
        sa.column('status', sa.String()),
        sa.column('created_at', UTCDateTime()),
        sa.column('held_until', UTCDateTime()),
    )
    notices = sa.table(
        'held_notice',
        sa.column('channel', sa.String()),
        sa.column('address', sa.String()),
        sa.column('told_at', UTCDateTime()),
    )
    # Computed here, not in SQL: date arithmetic differs between SQLite and PostgreSQL.
    bind = op.get_bind()
    held = bind.execute(
        sa.select(pushes.c.id, pushes.c.channel, pushes.c.address, pushes.c.created_at)
        .where(pushes.c.status == 'held')
        .order_by(pushes.c.created_at)
    ).all()
    told = {}
    for row in held:
        bind.execute(
            pushes.update()
            .where(pushes.c.id == row.id)
            .values(held_until=row.created_at + MAX_HOLD)
        )
        told.setdefault((row.channel, row.address), row.created_at)
    if told:
        op.bulk_insert(
            notices,
            [{'channel': c, 'address': a, 'told_at': at} for (c, a), at in told.items()],
        )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('held_notice')
    with op.batch_alter_table('citizen_push', schema=None) as batch_op:
        batch_op.drop_column('held_until')
