"""phones stored as E.164: contact points, tickets' contact phones, letter threads

Before this revision a number came in two forms: channels that know it (Twilio's caller id,
SMS) gave ``+8613800138000``, letters, forms and chats ``13800138000`` or ``010-12345678``,
so one person calling and writing was two citizens. Every stored phone becomes the form
``hotline.phones.canonical`` gives (under the configured ``callbacks.country_code``, handed
in by ``hotline db upgrade``); a value it cannot read is left as it is and logged, masked.

Callers were identified by a contact point of kind ``app`` holding their caller id; one whose
citizen has a call from that number becomes a ``phone`` contact point.

Where several contact points become one number, one is kept: a number a channel proved (the
citizen called or texted from it) before one that was only typed, then the oldest. The others
are deleted, one log line each; their citizens keep every ticket and conversation (the
tickets keep the number as contact phone, so agents still see them beside the owner's):
records of two people are never merged.

Downgrade does nothing: the code before this revision reads E.164 numbers too.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 10:00:00.000000

"""
import logging
from typing import Sequence, Union

from alembic import context, op
import sqlalchemy as sa

from hotline.nlu.masking import mask_phone
from hotline.phones import DEFAULT_COUNTRY, readable


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger(__name__)
#: channels whose conversation address is the number a channel vouched for
PROVING_CHANNELS = ('phone', 'sms')
#: channels whose conversation address is a phone
PHONE_CHANNELS = ('phone', 'sms', 'letter')
BATCH = 5000

contacts = sa.table(
    'contact_point',
    sa.column('id', sa.Integer()),
    sa.column('citizen_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('value', sa.String()),
)
conversations = sa.table(
    'conversation',
    sa.column('id', sa.String()),
    sa.column('citizen_id', sa.Integer()),
    sa.column('channel', sa.String()),
    sa.column('address', sa.String()),
)
tickets = sa.table(
    'ticket',
    sa.column('id', sa.Integer()),
    sa.column('contact_phone', sa.String()),
)


def upgrade() -> None:
    """Upgrade schema."""
    country = context.config.attributes.get('country_code', DEFAULT_COUNTRY)
    bind = op.get_bind()
    _contact_points(bind, country)
    _rewrite(bind, tickets, tickets.c.id, tickets.c.contact_phone, country)
    letters = conversations.c.channel.in_(PHONE_CHANNELS)
    _rewrite(bind, conversations, conversations.c.id, conversations.c.address, country, letters)


def downgrade() -> None:
    """Downgrade schema: nothing to undo (see the docstring)."""


def _contact_points(bind: sa.Connection, country: str) -> None:
    calls = bind.execute(
        sa.select(conversations.c.citizen_id, conversations.c.address)
        .where(conversations.c.channel.in_(PROVING_CHANNELS))
        .distinct()
    ).all()
    proven = {(c, readable(a, country)) for c, a in calls}
    callers = {(c, a) for c, a in calls}
    rows = bind.execute(
        sa.select(contacts.c.id, contacts.c.citizen_id, contacts.c.kind, contacts.c.value)
        .where(contacts.c.kind.in_(('phone', 'app')))
        .order_by(contacts.c.id)
    ).all()
    numbers: dict[str, list[sa.Row]] = {}
    for row in rows:
        if row.kind == 'app' and (row.citizen_id, row.value) not in callers:
            continue  # an app user's id, not a caller's number
        number = readable(row.value, country)
        if number is None:
            log.warning('0015: contact point %s: %s is no readable phone, kept as it is',
                        row.id, mask_phone(row.value))
            continue
        numbers.setdefault(number, []).append(row)
    for number, owners in numbers.items():
        keep, *drop = sorted(owners, key=lambda r: ((r.citizen_id, number) not in proven, r.id))
        for row in drop:
            bind.execute(contacts.delete().where(contacts.c.id == row.id))
            if row.citizen_id != keep.citizen_id:
                log.warning(
                    '0015: %s belongs to citizen %s (%s); the same number of citizen %s is no '
                    'longer a contact point (its tickets stay theirs)',
                    mask_phone(number), keep.citizen_id,
                    'proven by a channel' if (keep.citizen_id, number) in proven else 'older',
                    row.citizen_id,
                )
        if (keep.kind, keep.value) != ('phone', number):
            bind.execute(
                contacts.update().where(contacts.c.id == keep.id).values(kind='phone', value=number)
            )


def _rewrite(
    bind: sa.Connection,
    table: sa.TableClause,
    key: sa.ColumnClause,
    phone: sa.ColumnClause,
    country: str,
    where: sa.ColumnElement[bool] | None = None,
) -> None:
    """Each readable ``phone`` of ``table`` in its canonical form, in batches by ``key``."""
    after = None
    while True:
        query = sa.select(key, phone).where(phone.is_not(None)).order_by(key).limit(BATCH)
        if where is not None:
            query = query.where(where)
        if after is not None:
            query = query.where(key > after)
        rows = bind.execute(query).all()
        if not rows:
            return
        after = rows[-1][0]
        changed = [
            {'k': k, 'v': number}
            for k, value in rows
            if (number := readable(value, country)) is not None and number != value
        ]
        if changed:
            bind.execute(
                table.update().where(key == sa.bindparam('k')).values({phone.name: sa.bindparam('v')}),
                changed,
            )
