"""Create the review, findings, listing, SLA and certification tables.

Revision ID: 0002_moderation
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002_moderation"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _uuid(name: str, **options) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), nullable=options.pop("nullable", False), **options)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "review_cases",
        _uuid("id", primary_key=True),
        _uuid("product_id"),
        _uuid("version_id"),
        sa.Column("version", sa.String(100), nullable=False),
        _uuid("organisation_id"),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("product_type", sa.String(20), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("current_round", sa.Integer, nullable=False),
        _uuid("assignee_id", nullable=True),
        _time("opened_at"),
        _time("updated_at"),
        _time("decided_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_cases"),
        sa.UniqueConstraint("version_id", name="uq_review_cases_version_id"),
    )
    op.create_index("ix_review_cases_product_id", "review_cases", ["product_id"])
    op.create_index("ix_review_cases_organisation_id", "review_cases", ["organisation_id"])
    op.create_index("ix_review_cases_state", "review_cases", ["state"])
    op.create_index("ix_review_cases_assignee_id", "review_cases", ["assignee_id"])

    op.create_table(
        "review_rounds",
        _uuid("id"),
        _uuid("case_id"),
        sa.Column("number", sa.Integer, nullable=False),
        _time("submitted_at"),
        _time("opened_at"),
        sa.Column("manifest", JSONB, nullable=False),
        sa.Column("profile_complete", sa.Boolean, nullable=False),
        sa.Column("tiers", JSONB, nullable=False),
        sa.Column("decision", sa.String(30)),
        _time("decided_at", nullable=True),
        _uuid("decided_by", nullable=True),
        sa.Column("reason", sa.Text),
        sa.Column("checklist", JSONB),
        sa.PrimaryKeyConstraint("id", name="pk_review_rounds"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name="fk_review_rounds_case_id_review_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("case_id", "number", name="uq_review_rounds_case_id_number"),
    )

    op.create_table(
        "scans",
        _uuid("scan_id"),
        _uuid("version_id"),
        _uuid("tier_id"),
        sa.Column("reference", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("counts", JSONB, nullable=False),
        sa.Column("checks_passed", sa.Boolean),
        sa.Column("plugin_checks_passed", sa.Boolean),
        sa.Column("findings_itemised", sa.Boolean, nullable=False),
        sa.Column("platform_digests", JSONB, nullable=False),
        _time("occurred_at"),
        _time("received_at"),
        sa.PrimaryKeyConstraint("scan_id", name="pk_scans"),
    )
    op.create_index("ix_scans_version_id_tier_id", "scans", ["version_id", "tier_id"])
    op.create_index("ix_scans_digest", "scans", ["digest"])

    op.create_table(
        "findings",
        sa.Column("image_digest", sa.String(100), nullable=False),
        sa.Column("vulnerability_id", sa.String(200), nullable=False),
        sa.Column("package", sa.String(300), nullable=False),
        _uuid("organisation_id", nullable=True),
        sa.Column("installed_version", sa.String(200), nullable=False),
        sa.Column("fixed_version", sa.String(200)),
        sa.Column("cvss_score", sa.Float),
        sa.Column("aliases", JSONB, nullable=False),
        sa.Column("finding_class", sa.String(20), nullable=False),
        sa.Column("staff_class", sa.String(20)),
        sa.Column("staff_class_reason", sa.Text),
        _uuid("classified_by", nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        _time("detected_at"),
        _time("resolved_at", nullable=True),
        _time("changed_at"),
        sa.PrimaryKeyConstraint("image_digest", "vulnerability_id", "package", name="pk_findings"),
    )

    op.create_table(
        "waivers",
        _uuid("id"),
        sa.Column("image_digest", sa.String(100), nullable=False),
        sa.Column("vulnerability_id", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _uuid("waived_by"),
        _time("created_at"),
        _time("expires_at", nullable=True),
        _uuid("case_id", nullable=True),
        _uuid("sla_case_id", nullable=True),
        _time("expiry_handled_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_waivers"),
    )
    op.create_index("ix_waivers_image_digest_vulnerability_id", "waivers", ["image_digest", "vulnerability_id"])

    op.create_table(
        "listings",
        _uuid("product_id"),
        _uuid("organisation_id"),
        sa.Column("namespace", sa.String(100), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("product_type", sa.String(20), nullable=False),
        _uuid("live_version_id"),
        _time("published_at"),
        sa.Column("state", sa.String(20), nullable=False),
        _time("held_at", nullable=True),
        _time("hold_ends_at", nullable=True),
        sa.Column("hold_reason", sa.Text),
        _time("revoked_at", nullable=True),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("product_id", name="pk_listings"),
    )
    op.create_index("ix_listings_organisation_id", "listings", ["organisation_id"])
    op.create_index("ix_listings_state", "listings", ["state"])

    op.create_table(
        "live_images",
        _uuid("product_id"),
        sa.Column("image_digest", sa.String(100), nullable=False),
        _uuid("version_id"),
        _uuid("tier_id"),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("promoted_target", sa.String(500)),
        sa.PrimaryKeyConstraint("product_id", "image_digest", name="pk_live_images"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["listings.product_id"], name="fk_live_images_product_id_listings", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_live_images_image_digest", "live_images", ["image_digest"])

    op.create_table(
        "promotions",
        _uuid("version_id"),
        sa.Column("image_digest", sa.String(100), nullable=False),
        _uuid("product_id"),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        _time("promoted_at"),
        sa.PrimaryKeyConstraint("version_id", "image_digest", name="pk_promotions"),
    )

    op.create_table(
        "sla_cases",
        _uuid("id"),
        _uuid("product_id"),
        _uuid("organisation_id"),
        _uuid("version_id"),
        sa.Column("image_digest", sa.String(100), nullable=False),
        sa.Column("vulnerability_id", sa.String(200), nullable=False),
        sa.Column("package", sa.String(300), nullable=False),
        sa.Column("finding_class", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        _time("opened_at"),
        _time("deadline"),
        _time("breached_at", nullable=True),
        _time("closed_at", nullable=True),
        sa.Column("close_reason", sa.String(30)),
        sa.PrimaryKeyConstraint("id", name="pk_sla_cases"),
    )
    op.create_index("ix_sla_cases_product_id", "sla_cases", ["product_id"])
    op.create_index("ix_sla_cases_organisation_id", "sla_cases", ["organisation_id"])
    op.create_index("ix_sla_cases_state_deadline", "sla_cases", ["state", "deadline"])
    op.create_index(
        "uq_sla_cases_active_finding",
        "sla_cases",
        ["product_id", "image_digest", "vulnerability_id", "package"],
        unique=True,
        postgresql_where=sa.text("state IN ('open', 'breached')"),
    )

    op.create_table(
        "certifications",
        _uuid("id"),
        _uuid("product_id"),
        _uuid("organisation_id"),
        sa.Column("badge", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        _uuid("requested_by"),
        _time("requested_at"),
        sa.Column("joint_support_attested", sa.Boolean, nullable=False),
        sa.Column("tested_platforms", JSONB, nullable=False),
        _uuid("granted_by", nullable=True),
        _time("granted_at", nullable=True),
        sa.Column("note", sa.Text),
        _time("withdrawn_at", nullable=True),
        _uuid("withdrawn_by", nullable=True),
        sa.Column("withdrawn_reason", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_certifications"),
    )
    op.create_index("ix_certifications_product_id", "certifications", ["product_id"])
    op.create_index("ix_certifications_organisation_id", "certifications", ["organisation_id"])
    op.create_index(
        "uq_certifications_active_badge",
        "certifications",
        ["product_id", "badge"],
        unique=True,
        postgresql_where=sa.text("state IN ('requested', 'granted')"),
    )

    op.create_table(
        "comments",
        _uuid("id"),
        _uuid("case_id"),
        sa.Column("round_number", sa.Integer, nullable=False),
        _uuid("author_id"),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("author_role", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_comments"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["review_cases.id"], name="fk_comments_case_id_review_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_comments_case_id_created_at", "comments", ["case_id", "created_at"])


def downgrade() -> None:
    for table in (
        "comments",
        "certifications",
        "sla_cases",
        "promotions",
        "live_images",
        "listings",
        "waivers",
        "findings",
        "scans",
        "review_rounds",
        "review_cases",
    ):
        op.drop_table(table)
