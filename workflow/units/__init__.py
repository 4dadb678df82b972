"""Administrative units (đơn vị hành chính cấp xã) as data: provinces, their communes and wards, their succession.

Pure values and checks; ``motcua.definitions.units`` loads them from ``definitions/units/<province>.yaml``.
"""

from motcua.workflow.units.checks import build_register
from motcua.workflow.units.model import (
    LOCAL_CODE_PREFIX,
    YEAR_ROUND,
    MonthDay,
    Province,
    Resolution,
    Season,
    Unit,
    UnitKind,
    UnitRegister,
)

__all__ = [
    "LOCAL_CODE_PREFIX",
    "YEAR_ROUND",
    "MonthDay",
    "Province",
    "Resolution",
    "Season",
    "Unit",
    "UnitKind",
    "UnitRegister",
    "build_register",
]
