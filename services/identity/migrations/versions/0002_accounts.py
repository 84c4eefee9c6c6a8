"""Create accounts, organisations, staff roles, tokens, signing keys and login throttles.

Revision ID: 0002_accounts
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_accounts"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("username", sa.String(30), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        _when("email_verified_at"),
        sa.Column("pending_email", sa.String(320)),
        _when("created_at", nullable=False),
        _when("password_changed_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("uq_users_email", "users", ["email"], unique=True)

    op.create_table(
        "staff_roles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        _when("granted_at", nullable=False),
        sa.Column("granted_by", sa.Uuid()),
        sa.PrimaryKeyConstraint("user_id", "role", name="pk_staff_roles"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_staff_roles_user_id_users"),
        sa.ForeignKeyConstraint(["granted_by"], ["users.id"], name="fk_staff_roles_granted_by_users"),
        sa.CheckConstraint("role IN ('reviewer', 'security', 'admin')", name="ck_staff_roles_role"),
    )

    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("namespace", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("namespace", name="uq_organisations_namespace"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_organisations_created_by_users"),
    )

    op.create_table(
        "memberships",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_memberships_organisation_id_organisations"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_memberships_user_id_users"),
        sa.CheckConstraint("role IN ('owner', 'editor', 'viewer')", name="ck_memberships_role"),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])

    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("accepted_at"),
        sa.Column("accepted_by", sa.Uuid()),
        _when("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"], name="fk_invitations_organisation_id_organisations"
        ),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], name="fk_invitations_invited_by_users"),
        sa.ForeignKeyConstraint(["accepted_by"], ["users.id"], name="fk_invitations_accepted_by_users"),
        sa.CheckConstraint("role IN ('owner', 'editor', 'viewer')", name="ck_invitations_role"),
    )
    op.create_index("ix_invitations_organisation_id", "invitations", ["organisation_id", "created_at"])

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
        _when("used_at"),
        _when("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_refresh_tokens_user_id_users"),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])

    op.create_table(
        "personal_access_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("token_prefix", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at"),
        _when("last_used_at"),
        _when("revoked_at"),
        sa.PrimaryKeyConstraint("id", name="pk_personal_access_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_personal_access_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_personal_access_tokens_user_id_users"),
        sa.CheckConstraint("scope IN ('pull', 'pull+push', 'admin')", name="ck_personal_access_tokens_scope"),
    )
    op.create_index(
        "ix_personal_access_tokens_user_id", "personal_access_tokens", ["user_id", "created_at"]
    )

    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("private_key", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", postgresql.JSONB(), nullable=False),
        _when("created_at", nullable=False),
        _when("retired_at"),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )

    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        _when("first_failure_at"),
        _when("last_failure_at"),
        sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
        _when("locked_until"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttles"),
    )


def downgrade() -> None:
    for table in (
        "login_throttles",
        "signing_keys",
        "personal_access_tokens",
        "refresh_tokens",
        "invitations",
        "memberships",
        "organisations",
        "staff_roles",
        "users",
    ):
        op.drop_table(table)
