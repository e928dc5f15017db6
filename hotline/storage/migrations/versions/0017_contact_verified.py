"""a contact point records whether a channel proved it (contact_point.verified)

Only a verified contact point identifies a citizen; one they only typed is an address to answer
at. The points stored before this revision are verified where a channel vouched for them:

* a phone number the citizen called or texted from: a call or SMS conversation of theirs at
  that number with a message from it (0015's rule, without the threads the hotline opened to
  send a result, a callback or a letter's code, which prove nothing);
* the channel's own identity: a WeChat openid, a Telegram id, an app (or Open311 partner) user
  id, the sender of an inbound mail (an e-mail ticket of theirs filed from that address).

Everything else (a number typed into a chat or on a letter, an e-mail address given on a form)
stays unverified.

Plain column operations (no batch mode), as in 0013.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-11 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: channels whose conversation address is a number the citizen called or texted from
PROVING_CHANNELS = ('phone', 'sms')
#: contact kinds that are only ever a channel's own identity
IDENTITY_KINDS = ('wechat', 'telegram', 'app')

contacts = sa.table(
    'contact_point',
    sa.column('citizen_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('value', sa.String()),
    sa.column('verified', sa.Boolean()),
)
conversations = sa.table(
    'conversation',
    sa.column('id', sa.String()),
    sa.column('citizen_id', sa.Integer()),
    sa.column('channel', sa.String()),
    sa.column('address', sa.String()),
)
messages = sa.table(
    'message',
    sa.column('conversation_id', sa.String()),
    sa.column('direction', sa.String()),
)
tickets = sa.table(
    'ticket',
    sa.column('conversation_id', sa.String()),
    sa.column('channel', sa.String()),
)


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        'contact_point',
        sa.Column('verified', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    own = sa.and_(
        conversations.c.citizen_id == contacts.c.citizen_id,
        conversations.c.address == contacts.c.value,
    )
    called = (
        sa.select(conversations.c.id)
        .join(messages, messages.c.conversation_id == conversations.c.id)
        .where(own, conversations.c.channel.in_(PROVING_CHANNELS), messages.c.direction == 'in')
    )
    mailed = (
        sa.select(conversations.c.id)
        .join(tickets, tickets.c.conversation_id == conversations.c.id)
        .where(own, conversations.c.channel == 'email', tickets.c.channel == 'email')
    )
    proven = sa.or_(
        contacts.c.kind.in_(IDENTITY_KINDS),
        sa.and_(contacts.c.kind == 'phone', called.exists()),
        sa.and_(contacts.c.kind == 'email', mailed.exists()),
    )
    op.execute(contacts.update().where(proven).values(verified=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('contact_point', 'verified')
