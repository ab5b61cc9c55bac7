"""Imports every room's tables so the metadata (and Alembic) sees the whole schema."""

from simrenew.accounts import models as accounts_models
from simrenew.catalog import models as catalog_models
from simrenew.db.base import Base
from simrenew.lines import models as lines_models
from simrenew.notify import models as notify_models
from simrenew.payments import models as payments_models
from simrenew.renewals import models as renewals_models
from simrenew.staff import models as staff_models

__all__ = [
    "Base",
    "accounts_models",
    "catalog_models",
    "lines_models",
    "notify_models",
    "payments_models",
    "renewals_models",
    "staff_models",
]
