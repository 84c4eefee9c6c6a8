"""Create the read models, entitlements, licence acceptances, promoted images and registry events.

Revision ID: 0002_licensing
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_licensing"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("store_repository", sa.String(300), nullable=False),
        sa.Column("licence_url", sa.String(2000)),
        sa.Column("licence_version", sa.String(100)),
        sa.Column("current_version", sa.String(100), nullable=False),
        _timestamp("published_at"),
        sa.UniqueConstraint("store_repository", name="uq_products_store_repository"),
    )
    op.create_index("ix_products_organisation_id", "products", ["organisation_id"])

    op.create_table(
        "tiers",
        sa.Column("tier_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "product_id",
            sa.Uuid(),
            sa.ForeignKey("products.product_id", ondelete="CASCADE", name="fk_tiers_product_id_products"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("access_policy", sa.String(20), nullable=False),
        sa.Column("licence_required", sa.Boolean(), nullable=False),
        sa.Column("billing_period", sa.String(20), nullable=False),
        sa.Column("price_amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_index("ix_tiers_product_id", "tiers", ["product_id"])

    op.create_table(
        "product_versions",
        sa.Column("version_id", sa.Uuid(), primary_key=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        _timestamp("published_at"),
    )
    op.create_index("ix_product_versions_product_id", "product_versions", ["product_id"])

    op.create_table(
        "listing_states",
        sa.Column("product_id", sa.Uuid(), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(2000)),
        _timestamp("changed_at"),
    )

    op.create_table(
        "memberships",
        sa.Column("organisation_id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20)),
        _timestamp("changed_at"),
    )

    op.create_table(
        "entitlements",
        sa.Column("entitlement_id", sa.Uuid(), primary_key=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("order_id", sa.Uuid()),
        sa.Column("subscription_id", sa.String(200)),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _timestamp("valid_until", nullable=True),
        _timestamp("granted_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.Column("reason", sa.String(200)),
        _timestamp("updated_at"),
        sa.UniqueConstraint("source", name="uq_entitlements_source"),
    )
    op.create_index("ix_entitlements_order_id", "entitlements", ["order_id"])
    op.create_index("ix_entitlements_user_id", "entitlements", ["user_id"])
    op.create_index("ix_entitlements_product_id", "entitlements", ["product_id"])

    op.create_table(
        "licence_acceptances",
        sa.Column("acceptance_id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid()),
        sa.Column("licence_url", sa.String(2000), nullable=False),
        sa.Column("licence_version", sa.String(100), nullable=False),
        _timestamp("accepted_at"),
        sa.UniqueConstraint(
            "user_id", "product_id", "licence_version", name="uq_licence_acceptances_user_id"
        ),
    )
    op.create_index("ix_licence_acceptances_user_id", "licence_acceptances", ["user_id"])

    op.create_table(
        "promoted_images",
        sa.Column("promoted_image_id", sa.Uuid(), primary_key=True),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("tier_id", sa.Uuid()),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        sa.Column("tag", sa.String(128)),
        sa.Column("digest", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("parent_digest", sa.String(100)),
        _timestamp("promoted_at"),
        sa.UniqueConstraint(
            "repository", "digest", "version_id", name="uq_promoted_images_repository"
        ),
    )
    op.create_index("ix_promoted_images_product_id", "promoted_images", ["product_id"])
    op.create_index("ix_promoted_images_digest", "promoted_images", ["repository", "digest"])

    op.create_table(
        "registry_events",
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("repository", sa.String(300), nullable=False),
        _timestamp("received_at"),
    )


def downgrade() -> None:
    for table in (
        "registry_events",
        "promoted_images",
        "licence_acceptances",
        "entitlements",
        "memberships",
        "listing_states",
        "product_versions",
        "tiers",
        "products",
    ):
        op.drop_table(table)
