"""Create the inventory tables: scans, scanned images, layers, components, check results.

Revision ID: 0002_inventory
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_inventory"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scans",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(512), nullable=False),
        sa.Column("archive_path", sa.Text()),
        sa.Column("digest", sa.String(80)),
        sa.Column("product_id", sa.Uuid()),
        sa.Column("version_id", sa.Uuid()),
        sa.Column("tier_id", sa.Uuid()),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.Uuid()),
        sa.Column("correlation_id", sa.String(100)),
        sa.Column("failure_code", sa.String(40)),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_scans_organisation_id", "scans", ["organisation_id"])
    op.create_index("ix_scans_product_id", "scans", ["product_id"])
    op.create_index("ix_scans_status_created", "scans", ["status", "created_at"])
    op.create_index("ix_scans_version_tier", "scans", ["version_id", "tier_id"])

    op.create_table(
        "scanned_images",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("scan_id", sa.Uuid(), sa.ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("platform", sa.String(100), nullable=False),
        sa.Column("os_id", sa.String(64)),
        sa.Column("os_version", sa.String(64)),
        sa.Column("os_name", sa.String(200)),
        sa.Column("is_plugin", sa.Boolean(), nullable=False),
        sa.Column("totals", JSONB(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_scanned_images_scan_id", "scanned_images", ["scan_id"])
    op.create_index("ix_scanned_images_digest", "scanned_images", ["digest"])

    op.create_table(
        "scanned_layers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "image_id", sa.Uuid(), sa.ForeignKey("scanned_images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("media_type", sa.String(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("decompressed_size", sa.BigInteger(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
    )
    op.create_index("ix_scanned_layers_image_id", "scanned_layers", ["image_id"])

    op.create_table(
        "scanned_components",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "image_id", sa.Uuid(), sa.ForeignKey("scanned_images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ecosystem", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("match_name", sa.String(300), nullable=False),
        sa.Column("purl", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("layer_index", sa.Integer(), nullable=False),
        sa.Column("layer_digest", sa.String(80), nullable=False),
        sa.Column("layer_created_by", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(300)),
        sa.Column("source_version", sa.String(200)),
        sa.Column("licenses", JSONB(), nullable=False),
    )
    op.create_index("ix_scanned_components_image_id", "scanned_components", ["image_id"])
    op.create_index(
        "ix_scanned_components_package", "scanned_components", ["ecosystem", "match_name"]
    )

    op.create_table(
        "check_results",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "image_id", sa.Uuid(), sa.ForeignKey("scanned_images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("check_id", sa.String(60), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
    )
    op.create_index("ix_check_results_image_id", "check_results", ["image_id"])


def downgrade() -> None:
    for table in ("check_results", "scanned_components", "scanned_layers", "scanned_images", "scans"):
        op.drop_table(table)
