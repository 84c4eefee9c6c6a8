"""Create the catalog tables: profiles, media, products, versions, tiers and the search index.

Revision ID: 0002_catalog
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_catalog"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _uuid(name: str, **options) -> sa.Column:
    return sa.Column(name, postgresql.UUID(as_uuid=True), **options)


def _time(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Trigram matching gives search its typo tolerance.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Plan every statement for its own values, because the selectivity of a search word or
    # filter varies by orders of magnitude. A generic plan of a prepared statement (asyncpg
    # prepares every statement) assumes one selectivity for all words; in a benchmark it
    # chose a full scan to look for a word no listing contains. Applies to new connections.
    # NOTE: ALTER DATABASE needs the database owner; a migration run by another role fails here.
    op.execute(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', "
        "current_database()); END $$"
    )

    op.create_table(
        "organisations",
        _uuid("id", primary_key=True),
        sa.Column("namespace", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        _time("updated_at", nullable=False),
    )
    op.create_table(
        "publisher_profiles",
        _uuid("organisation_id", primary_key=True),
        sa.Column("legal_name", sa.String(200)),
        sa.Column("website", sa.String(2000)),
        sa.Column("phone", sa.String(32)),
        sa.Column("email", sa.String(320)),
        _uuid("logo_media_id"),
        sa.Column("story", sa.Text),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
    )
    op.create_table(
        "media",
        _uuid("id", primary_key=True),
        _uuid("organisation_id", nullable=False, index=True),
        sa.Column("storage_key", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("byte_size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("public", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _time("created_at", nullable=False),
    )
    op.create_table(
        "products",
        _uuid("id", primary_key=True),
        _uuid("organisation_id", nullable=False),
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default=sa.text("'unpublished'")),
        sa.Column("hold_reason", sa.Text),
        _time("held_at"),
        _uuid("live_version_id"),
        sa.Column("pull_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        _time("first_published_at"),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.UniqueConstraint("organisation_id", "slug", name="uq_products_organisation_id"),
    )
    op.create_index(
        "uq_products_organisation_id_name",
        "products",
        ["organisation_id", sa.text("lower(name)")],
        unique=True,
    )
    op.create_table(
        "product_versions",
        _uuid("id", primary_key=True),
        sa.Column(
            "product_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("products.id", ondelete="CASCADE", name="fk_product_versions_product_id_products"),
            nullable=False,
            index=True,
        ),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("manifest", postgresql.JSONB, nullable=False),
        sa.Column("state_reason", sa.Text),
        _time("submitted_at"),
        _time("decided_at"),
        _time("published_at"),
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        sa.UniqueConstraint("product_id", "version", name="uq_product_versions_product_id"),
    )
    op.create_table(
        "tiers",
        sa.Column(
            "version_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("product_versions.id", ondelete="CASCADE", name="fk_tiers_version_id_product_versions"),
            primary_key=True,
        ),
        _uuid("tier_id", primary_key=True),
        _uuid("product_id", nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("price_amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("billing_period", sa.String(20), nullable=False),
        sa.Column("source_reference", sa.String(400), nullable=False),
        sa.Column("reviewed_digest", sa.String(100)),
        sa.Column("promoted_target", sa.String(400)),
        _time("promoted_at"),
    )
    op.create_table(
        "badges",
        _uuid("product_id", primary_key=True),
        sa.Column("badge", sa.String(40), primary_key=True),
        _time("granted_at", nullable=False),
    )
    op.create_table(
        "entitlements",
        _uuid("id", primary_key=True),
        _uuid("user_id", nullable=False),
        _uuid("product_id", nullable=False),
        _uuid("tier_id", nullable=False),
        _time("valid_until"),
        _time("revoked_at"),
    )
    op.create_index("ix_entitlements_user_product", "entitlements", ["user_id", "product_id"])

    op.create_table(
        "listings",
        _uuid("product_id", primary_key=True),
        _uuid("organisation_id", nullable=False),
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("publisher_name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("short_description", sa.String(140), nullable=False),
        sa.Column("description_text", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("tags_text", sa.Text, nullable=False),
        _uuid("logo_media_id"),
        sa.Column("min_price", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("is_free", sa.Boolean, nullable=False),
        sa.Column("certified", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("held", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("pull_count", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("version", sa.String(64), nullable=False),
        _time("published_at", nullable=False),
        sa.Column(
            "document",
            postgresql.TSVECTOR,
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, name), 'A')"
                " || setweight(to_tsvector('english'::regconfig, tags_text), 'B')"
                " || setweight(to_tsvector('english'::regconfig, publisher_name), 'B')"
                " || setweight(to_tsvector('english'::regconfig, short_description), 'C')"
                " || setweight(to_tsvector('english'::regconfig, description_text), 'D')",
                persisted=True,
            ),
        ),
        sa.Column("words", sa.Text, sa.Computed("lower(name || ' ' || tags_text)", persisted=True)),
    )
    op.create_index("ix_listings_document", "listings", ["document"], postgresql_using="gin")
    op.create_index(
        "ix_listings_words_trgm",
        "listings",
        ["words"],
        postgresql_using="gin",
        postgresql_ops={"words": "gin_trgm_ops"},
    )
    op.create_index("ix_listings_lower_name", "listings", [sa.text("lower(name)")])
    op.create_index("ix_listings_published_at", "listings", ["published_at", "product_id"])
    op.create_index("ix_listings_pull_count", "listings", ["pull_count", "product_id"])
    op.create_index("ix_listings_min_price", "listings", ["min_price", "product_id"])
    op.create_index(
        "ix_listings_facets", "listings", ["category", "namespace", "product_type", "certified", "is_free"]
    )
    op.create_index("ix_listings_namespace", "listings", ["namespace"])


def downgrade() -> None:
    op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET plan_cache_mode', current_database()); END $$")
    for table in (
        "listings",
        "entitlements",
        "badges",
        "tiers",
        "product_versions",
        "products",
        "media",
        "publisher_profiles",
        "organisations",
    ):
        op.drop_table(table)
