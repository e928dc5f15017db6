"""satisfaction callbacks (回访) after a ticket is resolved

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 23:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('satisfaction_callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('handled_ticket_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('locked_by', sa.String(length=64), nullable=True),
    sa.Column('locked_until', UTCDateTime(), nullable=True),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('rating', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('answered_via', sa.String(length=100), nullable=True),
    sa.Column('answered_at', UTCDateTime(), nullable=True),
    sa.Column('reason_until', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['handled_ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'round', name='uq_callback_ticket_round')
    )
    with op.batch_alter_table('satisfaction_callback', schema=None) as batch_op:
        batch_op.create_index('ix_callback_address', ['channel', 'address', 'status'], unique=False)
        batch_op.create_index('ix_callback_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_satisfaction_callback_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_satisfaction_callback_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('satisfaction_callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_satisfaction_callback_unit_id'))
        batch_op.drop_index(batch_op.f('ix_satisfaction_callback_ticket_id'))
        batch_op.drop_index('ix_callback_due')
        batch_op.drop_index('ix_callback_address')
    op.drop_table('satisfaction_callback')
