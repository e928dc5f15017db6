"""dispatch outbox, unit delivery, deadline flags and duplicate links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('dispatch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), nullable=False),
    sa.Column('locked_by', sa.String(length=64), nullable=True),
    sa.Column('locked_until', UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_event.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'unit_id', name='uq_dispatch_event_unit')
    )
    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.create_index('ix_dispatch_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_dispatch_unit_status', ['unit_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_method', sa.String(length=16), nullable=False, server_default='pull'))
        batch_op.add_column(sa.Column('webhook_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('webhook_secret', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warn_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('warned_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('report_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index(batch_op.f('ix_ticket_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_foreign_key('fk_ticket_duplicate_of_id', 'ticket', ['duplicate_of_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_duplicate_of_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_ticket_duplicate_of_id'))
        batch_op.drop_column('report_count')
        batch_op.drop_column('duplicate_of_id')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('warned_at')
        batch_op.drop_column('warn_at')

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('email')
        batch_op.drop_column('webhook_secret')
        batch_op.drop_column('webhook_url')
        batch_op.drop_column('delivery_method')

    with op.batch_alter_table('dispatch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_ticket_id'))
        batch_op.drop_index('ix_dispatch_unit_status')
        batch_op.drop_index('ix_dispatch_due')

    op.drop_table('dispatch')
