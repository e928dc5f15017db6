"""conversations handed to a person (转人工): when, and which agent holds them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from hotline.storage.types import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversation_agent_id'), ['agent_id'], unique=False)
        batch_op.create_foreign_key('fk_conversation_agent_id', 'staff_user', ['agent_id'], ['id'])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_conversation_agent_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_conversation_agent_id'))
        batch_op.drop_column('agent_id')
        batch_op.drop_column('handoff_at')
