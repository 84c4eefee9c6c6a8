"""Create the read models, subscriptions, webhooks, messages, delivery log and mailbox.

Revision ID: 0002_delivery
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_delivery"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('downloads',
        sa.Column('user_id', sa.UUID(), nullable=False),
        sa.Column('product_id', sa.UUID(), nullable=False),
        sa.Column('first_pulled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_pulled_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('pulls', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'product_id', name=op.f('pk_downloads'))
    )
    op.create_index('ix_downloads_product_id', 'downloads', ['product_id'], unique=False)
    op.create_table('memberships',
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('user_id', sa.UUID(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=True),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('organisation_id', 'user_id', name=op.f('pk_memberships'))
    )
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'], unique=False)
    op.create_table('organisations',
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('namespace', sa.String(length=100), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisations'))
    )
    op.create_table('products',
        sa.Column('product_id', sa.UUID(), nullable=False),
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('namespace', sa.String(length=100), nullable=False),
        sa.Column('slug', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('latest_version', sa.String(length=100), nullable=True),
        sa.Column('listed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('product_id', name=op.f('pk_products'))
    )
    op.create_table('subscriptions',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('user_id', sa.UUID(), nullable=False),
        sa.Column('topic', sa.String(length=40), nullable=False),
        sa.Column('scope_id', sa.UUID(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
        sa.UniqueConstraint('user_id', 'topic', 'scope_id', name='uq_subscriptions_user_topic_scope')
    )
    op.create_index('ix_subscriptions_scope_topic', 'subscriptions', ['scope_id', 'topic'], unique=False)
    op.create_table('users',
        sa.Column('user_id', sa.UUID(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_users'))
    )
    op.create_table('webhooks',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('organisation_id', sa.UUID(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('description', sa.String(length=200), server_default='', nullable=False),
        sa.Column('topics', postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('created_by', sa.UUID(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    op.create_index(op.f('ix_webhooks_organisation_id'), 'webhooks', ['organisation_id'], unique=False)
    op.create_table('messages',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=60), nullable=False),
        sa.Column('dedupe_key', sa.String(length=400), nullable=False),
        sa.Column('event_id', sa.UUID(), nullable=True),
        sa.Column('event_type', sa.String(length=200), nullable=True),
        sa.Column('recipient', sa.String(length=2000), nullable=False),
        sa.Column('user_id', sa.UUID(), nullable=True),
        sa.Column('organisation_id', sa.UUID(), nullable=True),
        sa.Column('webhook_id', sa.UUID(), nullable=True),
        sa.Column('subject', sa.String(length=300), server_default='', nullable=False),
        sa.Column('body_text', sa.Text(), server_default='', nullable=False),
        sa.Column('body_html', sa.Text(), server_default='', nullable=False),
        sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('transport', sa.String(length=20), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_messages_webhook_id_webhooks'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_messages_dedupe_key'))
    )
    op.create_index('ix_messages_due', 'messages', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status IN ('queued', 'retrying', 'sending')"))
    op.create_index(op.f('ix_messages_event_id'), 'messages', ['event_id'], unique=False)
    op.create_index('ix_messages_recipient_sent_at', 'messages', ['recipient', 'sent_at'], unique=False)
    op.create_index('ix_messages_webhook_id_created_at', 'messages', ['webhook_id', 'created_at'], unique=False)
    op.create_table('delivery_log',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.UUID(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_delivery_log_message_id_messages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_log'))
    )
    op.create_index(op.f('ix_delivery_log_message_id'), 'delivery_log', ['message_id'], unique=False)
    op.create_table('mailbox',
        sa.Column('id', sa.UUID(), nullable=False),
        sa.Column('message_id', sa.UUID(), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('sender', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_mailbox_message_id_messages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mailbox')),
        sa.UniqueConstraint('message_id', name=op.f('uq_mailbox_message_id'))
    )
    op.create_index('ix_mailbox_recipient_stored_at', 'mailbox', ['recipient', 'stored_at'], unique=False)


def downgrade() -> None:
    # Indexes go with their tables; children before the tables they reference.
    for table in (
        "mailbox",
        "delivery_log",
        "messages",
        "webhooks",
        "users",
        "subscriptions",
        "products",
        "organisations",
        "memberships",
        "downloads",
    ):
        op.drop_table(table)
