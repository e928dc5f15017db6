"""covering indexes for the closure and satisfaction report over long periods

History lines: ``(ticket_id, action, at)`` replaces ``(ticket_id, action)``: the report reads
each ticket's 办结 and 重办 lines and the time of its first 办结 from the index alone.
Callbacks: ``(created_at, unit_id, status, rating)`` replaces ``(created_at)``: a period's
callbacks are counted per unit from the index alone. (bench/callbacks_load.py, a year of
1,000,000 tickets.) Each new index is built before the one it replaces is dropped, so no query
is ever left without one.

Plain index operations (no batch mode): on SQLite a batch could copy ``ticket_event`` and
lose its append-only triggers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(
        'ix_ticket_event_ticket_action_at', 'ticket_event', ['ticket_id', 'action', 'at']
    )
    op.drop_index('ix_ticket_event_ticket_action', table_name='ticket_event')
    op.create_index(
        'ix_callback_created_unit_status_rating',
        'satisfaction_callback',
        ['created_at', 'unit_id', 'status', 'rating'],
    )
    op.drop_index('ix_callback_created_at', table_name='satisfaction_callback')


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index('ix_callback_created_at', 'satisfaction_callback', ['created_at'])
    op.drop_index('ix_callback_created_unit_status_rating', table_name='satisfaction_callback')
    op.create_index('ix_ticket_event_ticket_action', 'ticket_event', ['ticket_id', 'action'])
    op.drop_index('ix_ticket_event_ticket_action_at', table_name='ticket_event')
