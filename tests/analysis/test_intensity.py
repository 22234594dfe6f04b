"""labctl/analysis/intensity.py and dark_jv.py on data whose ideality is known."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pvlib.pvsystem import i_from_v, singlediode

from labctl.analysis.dark_jv import dark_diode_fit
from labctl.analysis.intensity import (
    analyze_intensity,
    find_regimes,
    global_ideality,
    jsc_power_law,
    local_ideality,
    shunt_dominated,
)
from labctl.cli import main

VT_V = 8.617333262e-5 * 298.15


def _hao_series(seed: int, noise_v: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """70 dB (7 decades, 5 per decade) with n = 2 below 1e-3 sun, 4 up to 0.1 sun and 1
    above (the pattern of Hao et al. 2020), Voc continuous, Gaussian noise."""
    sun = np.geomspace(1e-7, 1.0, 36)
    ln_s = np.log(sun)
    knee_hi, knee_lo = np.log(0.1), np.log(1e-3)
    voc = np.where(ln_s >= knee_hi, 1.35 + VT_V * ln_s,
                   np.where(ln_s >= knee_lo, 1.35 + VT_V * knee_hi + 4 * VT_V * (ln_s - knee_hi),
                            1.35 + VT_V * knee_hi + 4 * VT_V * (knee_lo - knee_hi)
                            + 2 * VT_V * (ln_s - knee_lo)))
    return sun * 100.0, voc + np.random.default_rng(seed).normal(0.0, noise_v, sun.size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_2_4_1_regimes_of_a_70_db_series_are_found(seed: int) -> None:
    irradiance, voc = _hao_series(seed)
    regimes = find_regimes(irradiance, voc)
    assert len(regimes) == 3
    local = local_ideality(irradiance, voc)
    for centre_sun, true_n in ((10 ** -5, 2.0), (10 ** -2, 4.0), (10 ** -0.5, 1.0)):
        regime = next(r for r in regimes if r["sun_min"] <= centre_sun <= r["sun_max"])
        assert regime["n"] == pytest.approx(true_n, rel=0.2)
        nearest = int(np.argmin(np.abs(np.log(irradiance / 100.0 / centre_sun))))
        assert local[nearest] == pytest.approx(true_n, rel=0.2)
    metrics, _ = analyze_intensity(irradiance, voc)
    assert metrics["shunt_dominated_points"] == 0
    assert [r["n"] for r in metrics["regimes"]] == pytest.approx([2, 4, 1], rel=0.2)


def test_a_clean_diode_gives_its_ideality_alpha_and_j0() -> None:
    sun = np.geomspace(1e-3, 1.0, 13)
    jsc = 20.0 * sun ** 0.9
    n, j0 = 1.45, 1e-10
    voc = n * VT_V * np.log(jsc / j0 + 1)
    metrics, warnings = analyze_intensity(100 * sun, voc, jsc)
    assert metrics["ideality"] == pytest.approx(0.9 * n, rel=1e-6)  # Voc follows ln Jsc
    assert metrics["alpha"] == pytest.approx(0.9, rel=1e-9)
    assert global_ideality(jsc, voc)[0] == pytest.approx(n, rel=1e-6)
    assert jsc_power_law(100 * sun, jsc) == pytest.approx(0.9)
    assert len(metrics["ideality_local"]) == sun.size
    assert all(p["n"] == pytest.approx(0.9 * n, rel=1e-3) for p in metrics["ideality_local"])
    assert metrics["j0_ma_cm2"] == pytest.approx(j0, rel=1e-3)
    assert not any("shunt" in w for w in warnings)


def test_shunted_low_light_points_are_flagged_and_left_out() -> None:
    sun = np.geomspace(1e-4, 1.0, 17)
    n = 1.5
    voc = np.asarray(singlediode(photocurrent=19.8e-3 * sun, saturation_current=1e-15,
                                 resistance_series=3.0, resistance_shunt=3000.0,
                                 nNsVth=n * VT_V)["v_oc"])
    mask = shunt_dominated(100 * sun, voc)
    assert mask[:3].all() and not mask[-6:].any()
    assert np.all(np.diff(mask.astype(int)) <= 0)  # contiguous from the low-light end
    metrics, warnings = analyze_intensity(100 * sun, voc)
    assert metrics["shunt_dominated_points"] == int(mask.sum())
    assert metrics["fit_range_sun"][0] > sun[int(mask.sum()) - 1]
    assert any("shunt-dominated" in w for w in warnings)
    high = sun >= 0.3  # the shunt still carries 6 % of J_ph at 0.3 sun
    assert global_ideality(100 * sun, voc, high)[0] == pytest.approx(n, rel=0.05)


@pytest.mark.parametrize("n", [1.45, 2.07])
def test_dark_jv_gives_the_diode_n_and_j0(n: float) -> None:
    voltage_v = np.linspace(-0.2, 1.3, 76)
    j0_a_cm2 = 1e-12
    j_ma_cm2 = 1e3 * np.asarray(i_from_v(voltage_v, 0.0, j0_a_cm2, 3.0, 3000.0, n * VT_V))
    metrics, warnings = dark_diode_fit(voltage_v, j_ma_cm2)
    assert warnings == []
    assert metrics["ideality_dark"] == pytest.approx(n, rel=0.02)
    assert metrics["j0_dark_ma_cm2"] == pytest.approx(j0_a_cm2 * 1e3, rel=0.15)
    # either sign convention
    assert dark_diode_fit(voltage_v, -j_ma_cm2)[0]["ideality_dark"] == pytest.approx(
        metrics["ideality_dark"])


def test_a_resistor_has_no_exponential_region() -> None:
    voltage_v = np.linspace(-0.5, 1.0, 31)
    metrics, warnings = dark_diode_fit(voltage_v, voltage_v / 1000.0 * 1e3)
    assert np.isnan(metrics["ideality_dark"]) and warnings


def test_labctl_analyze_intensity_reads_a_plain_csv(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    irradiance, voc = _hao_series(7, noise_v=0.0)
    path = tmp_path / "plain.csv"
    rows = "\n".join(f"{e:.8g},{v:.8g}" for e, v in zip(irradiance, voc, strict=True))
    path.write_text("Irradiance (mW/cm**2),Voc (V)\n" + rows + "\n")
    assert main(["analyze", "intensity", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)[0]
    assert [r["n"] for r in out["metrics"]["regimes"]] == pytest.approx([2, 4, 1], rel=0.05)
    assert any("Jsc" in w for w in out["warnings"])
