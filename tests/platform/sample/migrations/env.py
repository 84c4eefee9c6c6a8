from alembic import context

from shared.migrations import run_env
from tests.platform.sample.app import metadata

run_env(context, metadata)
