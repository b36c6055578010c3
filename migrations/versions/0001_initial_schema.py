"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 12:17:55.979144
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sources',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.Enum('businesscentral', 'zoho', name='sourcekind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('credentials_sealed', sa.Text(), nullable=False),
    sa.Column('webhook_secret_sealed', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_sources_name'))
    )
    op.create_table('sites',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.Enum('woocommerce', 'bigcommerce', 'shopify', name='platform', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('credentials_sealed', sa.Text(), nullable=False),
    sa.Column('webhook_secret_sealed', sa.Text(), nullable=True),
    sa.Column('api_key_hash', sa.String(length=64), nullable=True),
    sa.Column('source_id', sa.BigInteger(), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('full_sync_hour', sa.Integer(), server_default='2', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('webhooks_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('rate_limit_requests', sa.Integer(), nullable=True),
    sa.Column('rate_limit_window_seconds', sa.Integer(), nullable=True),
    sa.Column('rate_limit_concurrency', sa.Integer(), nullable=True),
    sa.Column('last_webhook_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('full_sync_hour BETWEEN 0 AND 23', name=op.f('ck_sites_full_sync_hour')),
    sa.CheckConstraint('rate_limit_concurrency IS NULL OR rate_limit_concurrency > 0', name=op.f('ck_sites_rate_limit_concurrency')),
    sa.CheckConstraint('rate_limit_requests IS NULL OR rate_limit_requests > 0', name=op.f('ck_sites_rate_limit_requests')),
    sa.CheckConstraint('rate_limit_window_seconds IS NULL OR rate_limit_window_seconds > 0', name=op.f('ck_sites_rate_limit_window')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_sites_source_id_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )
    op.create_index(op.f('ix_sites_source_id'), 'sites', ['source_id'], unique=False)
    op.create_table('items',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('site_id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.String(length=100), nullable=False),
    sa.Column('variant_id', sa.String(length=100), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('erp_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_items_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('site_id', 'sku', name=op.f('uq_items_site_id_sku'))
    )
    op.create_index('ix_items_sku_site', 'items', ['sku', 'site_id'], unique=False)
    op.create_table('sync_runs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('site_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'paused', 'cancelled', 'completed', 'failed', name='runstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=True),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('synced', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unchanged', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('skipped', sa.Integer(), server_default='0', nullable=False),
    sa.Column('store_calls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('batches_total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('batches_pending', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_sync_runs_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_runs'))
    )
    op.create_index('ix_sync_runs_site_created', 'sync_runs', ['site_id', 'created_at'], unique=False)
    op.create_index('ix_sync_runs_status', 'sync_runs', ['status'], unique=False)
    op.create_index('uq_sync_runs_full_per_day', 'sync_runs', ['site_id', 'local_date'], unique=True, postgresql_where=sa.text("kind = 'full'"))
    op.create_table('webhook_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('site_id', sa.BigInteger(), nullable=True),
    sa.Column('source_id', sa.BigInteger(), nullable=True),
    sa.Column('topic', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=True),
    sa.Column('delivery_id', sa.String(length=200), nullable=True),
    sa.Column('entity', sa.String(length=200), nullable=True),
    sa.Column('sku', sa.String(length=20), nullable=True),
    sa.Column('dedupe_key', sa.String(length=300), nullable=True),
    sa.Column('status', sa.Enum('received', 'queued', 'duplicate', 'ignored', 'rejected', 'processed', 'failed', name='webhookstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_webhook_log_site_id_sites'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_webhook_log_source_id_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_log'))
    )
    op.create_index('ix_webhook_log_site_received', 'webhook_log', ['site_id', 'received_at'], unique=False)
    op.create_index(op.f('ix_webhook_log_sku'), 'webhook_log', ['sku'], unique=False)
    op.create_index('ix_webhook_log_status_received', 'webhook_log', ['status', 'received_at'], unique=False)
    op.create_index('uq_webhook_log_delivery', 'webhook_log', ['provider', 'site_id', 'delivery_id'], unique=True, postgresql_where=sa.text("delivery_id IS NOT NULL AND status NOT IN ('duplicate', 'rejected')"))
    op.create_table('sync_batches',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('skus', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('status', sa.Enum('queued', 'processing', 'completed', 'failed', 'cancelled', name='batchstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('synced', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unchanged', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('store_calls', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('failures', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sync_runs.id'], name=op.f('fk_sync_batches_run_id_sync_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_batches')),
    sa.UniqueConstraint('run_id', 'seq', name=op.f('uq_sync_batches_run_id_seq'))
    )
    op.create_index('ix_sync_batches_status_claimed', 'sync_batches', ['status', 'claimed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sync_batches_status_claimed', table_name='sync_batches')
    op.drop_table('sync_batches')
    op.drop_index('uq_webhook_log_delivery', table_name='webhook_log', postgresql_where=sa.text("delivery_id IS NOT NULL AND status NOT IN ('duplicate', 'rejected')"))
    op.drop_index('ix_webhook_log_status_received', table_name='webhook_log')
    op.drop_index(op.f('ix_webhook_log_sku'), table_name='webhook_log')
    op.drop_index('ix_webhook_log_site_received', table_name='webhook_log')
    op.drop_table('webhook_log')
    op.drop_index('uq_sync_runs_full_per_day', table_name='sync_runs', postgresql_where=sa.text("kind = 'full'"))
    op.drop_index('ix_sync_runs_status', table_name='sync_runs')
    op.drop_index('ix_sync_runs_site_created', table_name='sync_runs')
    op.drop_table('sync_runs')
    op.drop_index('ix_items_sku_site', table_name='items')
    op.drop_table('items')
    op.drop_index(op.f('ix_sites_source_id'), table_name='sites')
    op.drop_table('sites')
    op.drop_table('sources')
