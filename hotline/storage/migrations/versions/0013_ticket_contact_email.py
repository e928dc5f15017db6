"""a ticket keeps the e-mail address given with the request (a letter's, an Open311 form's)

Its result and satisfaction callback are sent there even when another citizen owns the address
(``add_contact`` never attaches it to the writer). Tickets before this revision have none:
they are answered at their citizen's own e-mail address, as before.

Plain column operations (no batch mode): on SQLite a batch could copy ``ticket`` (SQLite
adds and, since 3.35, drops a column in place).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('ticket', sa.Column('contact_email', sa.String(length=254), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('ticket', 'contact_email')
