"""indexes for a city's years of tickets: queues, periods, duplicates, phone, history lines

Plain index operations (no batch mode): on SQLite a batch could copy ``ticket_event`` and
lose its append-only triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index('ix_ticket_status', table_name='ticket')
    op.create_index('ix_ticket_status_created', 'ticket', ['status', 'created_at'])
    op.drop_index('ix_ticket_unit_id', table_name='ticket')
    op.create_index(
        'ix_ticket_unit_status_created', 'ticket', ['unit_id', 'status', 'created_at']
    )
    op.create_index('ix_ticket_created_at', 'ticket', ['created_at'])
    op.create_index('ix_ticket_subcategory_created', 'ticket', ['subcategory_code', 'created_at'])
    op.create_index('ix_ticket_contact_phone', 'ticket', ['contact_phone'])
    op.drop_index('ix_ticket_event_ticket_id', table_name='ticket_event')
    op.create_index('ix_ticket_event_ticket_action', 'ticket_event', ['ticket_id', 'action'])
    op.create_index('ix_callback_created_at', 'satisfaction_callback', ['created_at'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_callback_created_at', table_name='satisfaction_callback')
    op.drop_index('ix_ticket_event_ticket_action', table_name='ticket_event')
    op.create_index('ix_ticket_event_ticket_id', 'ticket_event', ['ticket_id'])
    op.drop_index('ix_ticket_contact_phone', table_name='ticket')
    op.drop_index('ix_ticket_subcategory_created', table_name='ticket')
    op.drop_index('ix_ticket_created_at', table_name='ticket')
    op.drop_index('ix_ticket_unit_status_created', table_name='ticket')
    op.create_index('ix_ticket_unit_id', 'ticket', ['unit_id'])
    op.drop_index('ix_ticket_status_created', table_name='ticket')
    op.create_index('ix_ticket_status', 'ticket', ['status'])
