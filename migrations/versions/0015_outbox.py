"""The UI event outbox (G-03, DESIGN §5): ``event_outbox`` (unused since 0005) becomes ``outbox``.

* ``channel`` → ``topic`` (the SSE event name: signal, position, reconciliation, kill_switch …);
* ``published_at`` → ``relayed_at`` (set by the relay once the row is on the Redis Stream);
* the partial index of unrelayed rows is renamed with it; a second index serves the relay's retention purge.

A row is written in the same transaction as the state change it announces; ids are taken under a
transaction-level advisory lock (``storage.outbox``), so commit order equals id order and the relay may use
the id as the stream entry's id.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE event_outbox RENAME TO outbox;
        ALTER TABLE outbox RENAME COLUMN channel TO topic;
        ALTER TABLE outbox RENAME COLUMN published_at TO relayed_at;
        ALTER TABLE outbox RENAME CONSTRAINT event_outbox_channel_check TO outbox_topic_check;
        ALTER INDEX event_outbox_unpublished_idx RENAME TO outbox_unrelayed_idx;
        ALTER INDEX event_outbox_pkey RENAME TO outbox_pkey;
        CREATE INDEX outbox_relayed_at_idx ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX outbox_relayed_at_idx;
        ALTER INDEX outbox_pkey RENAME TO event_outbox_pkey;
        ALTER INDEX outbox_unrelayed_idx RENAME TO event_outbox_unpublished_idx;
        ALTER TABLE outbox RENAME CONSTRAINT outbox_topic_check TO event_outbox_channel_check;
        ALTER TABLE outbox RENAME COLUMN relayed_at TO published_at;
        ALTER TABLE outbox RENAME COLUMN topic TO channel;
        ALTER TABLE outbox RENAME TO event_outbox;
        """
    )
