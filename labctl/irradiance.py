"""The one rule for the irradiance a PCE is computed over, shared by ``run`` and ``analyze``."""

from __future__ import annotations

import math

__all__ = ["DEFAULT_IRRADIANCE_MW_CM2", "pce_irradiance_mw_cm2"]

#: 1 sun (mW/cm²).
DEFAULT_IRRADIANCE_MW_CM2 = 100.0


def pce_irradiance_mw_cm2(*, override_mw_cm2: float | None = None,
                          measured_mw_cm2: float | None = None,
                          default_mw_cm2: float | None = None) -> float:
    """The irradiance for PCE [mW/cm²] (docs/contracts.md, "Summary JSON").

    In order: the one a person gives (``labctl analyze --irradiance-mw-cm2``); the mean of
    the file's ``Irradiance (mW/cm**2)`` column when it is positive (measured by the
    station's irradiance sensor, or the step's value that the procedure wrote there); the
    step's ``irradiance_mw_cm2``; 100 mW/cm².
    """
    for value in (override_mw_cm2, measured_mw_cm2, default_mw_cm2):
        if value is not None and math.isfinite(float(value)) and float(value) > 0:
            return float(value)
    return DEFAULT_IRRADIANCE_MW_CM2
