"""J-V curve analysis: model-free solar-cell metrics, vectorised over many curves.

Pure functions on numpy arrays; no instrument or file access. One curve is a pair of 1-D
arrays (voltage [V], current density [mA/cm^2]); a batch is a pair of 2-D arrays of shape
``(n_curves, n_points)``, NaN-padded where a curve has fewer points. Every curve may come in
either scan direction and in either sign convention:

- ``"photovoltaic"``: generated current positive (J > 0 at short circuit under light), as in
  labctl's ``Current density (mA/cm**2)`` column;
- ``"smu"``: the source-measure unit's sign (generated current negative), as in the
  ``Current (A)`` column divided by the area.

The convention is detected per curve and reported; the metrics are always given in the
photovoltaic sign.

The extraction follows the model-free approach of ASTM E1036 [1]_ (Voc and Jsc from local fits
around the zero crossings, Pmax from a polynomial fit of P(V) around the largest sampled power,
as in :func:`pvlib.ivtools.utils.astm_e1036`), with these departures:

- Voc: a cubic through the four samples bracketing J = 0 (two on each side), solved for its root
  inside the bracket, instead of a straight line through the three samples of smallest |I|. The
  straight line is biased by the curvature of the exponential (up to ~0.5 mV on a 10 mV grid for
  n = 1); the cubic is not (< 0.05 mV).
- Jsc: a least-squares quadratic over up to 21 samples around V = 0 (restricted to
  V <= Vmpp/2), evaluated at V = 0, instead of a straight line through three samples. It averages
  noise and gives the slope for R_sh from the same fit.
- Pmax: a least-squares quartic of P(V) over the samples within about +-40 mV of the largest
  sampled power (nine samples on a 10 mV grid, never fewer than five), refitted once around the
  sample nearest to the first estimate, with dP/dV = 0 solved by Newton's method. ASTM E1036
  fits the samples within 0.75-1.15 x (Vmp, Imp); on a 10 mV grid that window is too wide for
  a quartic to follow a sharp knee (pvlib's astm_e1036 is off by up to ~0.6 % in Pmax on
  single-diode curves with FF up to 0.9, this fit by < 0.015 %).
- R_s and R_sh are the inverse slopes -dV/dJ of the curve at Voc and at V = 0 (apparent series
  and shunt resistances); they are not part of ASTM E1036.

The steps of :func:`analyze_jv`, per curve: drop NaN, sort by voltage and merge duplicate
voltages; detect the sign convention and convert to the photovoltaic sign; Jsc and the slope at
short circuit from the local quadratic around V = 0; Voc and the slope at open circuit from the
cubic through the four samples bracketing the highest-voltage crossing of J = 0 from positive
to negative; Pmax from the local quartic of P(V) = V J around the largest sampled power in the
power quadrant, solving dP/dV = 0. The method follows docs/methods.md §7.

Accuracy on exact single-diode curves (Voc 0.8-1.3 V, FF 0.5-0.9) sampled every 10 mV: Voc
within 0.005 mV, Jsc within 0.001 %, Pmax and FF within 0.015 %; with Gaussian noise of
0.01 mA/cm^2 on J: Voc within 0.3 mV, Jsc 0.08 %, Pmax 0.2 %. On a 50 mV grid Pmax is within
~1 % (median 0.03 %) and Voc within ~1 mV.

R_s and R_sh are apparent (model-free) resistances, the inverse slopes -dV/dJ of the curve at
Voc and at short circuit, not the series and shunt resistances of a single-diode fit: at Voc the
slope includes the diode's differential resistance n kT / (q J_ph).

References
----------
.. [1] ASTM E1036-15(2019), "Standard Test Methods for Electrical Performance of Nonconcentrator
   Terrestrial Photovoltaic Modules and Arrays Using Reference Cells", :doi:`10.1520/E1036-15R19`
.. [2] S. N. Habisreutinger, N. K. Noel, H. J. Snaith, "Hysteresis Index: A Figure without
   Merit for Quantifying Hysteresis in Perovskite Solar Cells", ACS Energy Lett. 3, 2472-2476
   (2018), :doi:`10.1021/acsenergylett.8b01627`
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "METRIC_NAMES",
    "PHOTOVOLTAIC",
    "SMU",
    "JVAnalysis",
    "analyze_jv",
    "detect_sign_convention",
    "fill_factor",
    "hysteresis_index",
    "hysteresis_index_08voc",
    "jv_metrics",
    "pce_pct",
    "rectify_jv_curve",
]

#: Metric names (the keys of ``summary.json`` for a J-V result), units in the names.
METRIC_NAMES: tuple[str, ...] = (
    "voc_v",
    "jsc_ma_cm2",
    "ff",
    "pce_pct",
    "vmpp_v",
    "jmpp_ma_cm2",
    "pmax_mw_cm2",
    "rs_ohm_cm2",
    "rsh_ohm_cm2",
)

PHOTOVOLTAIC = "photovoltaic"
SMU = "smu"
_SIGN_CONVENTIONS = ("auto", PHOTOVOLTAIC, SMU)

# Stencils (in samples) of the local fits; see the module docstring.
_VOC_BEFORE, _VOC_WIDTH, _VOC_DEGREE = 1, 4, 3
_JSC_HALF_WIDTH, _JSC_DEGREE = 10, 2
# P(V) fit: the samples within about +-40 mV of the largest sampled power (+-4 samples on a
# 10 mV grid, +-2, the minimum, on 20 mV and coarser): the knee of a cell with n = 1 bends on
# the scale of kT/q = 26 mV, and a quartic over a wider window is biased.
_PMAX_HALF_WIDTH_V, _PMAX_DEGREE = 0.04, 4
_PMAX_MIN_HALF_WIDTH, _PMAX_MAX_HALF_WIDTH = 2, 4
_MIN_POINTS = 4
# A curve counts as illuminated when its short-circuit current density exceeds this many
# times the noise level estimated from second differences (and a numerical floor).
_MIN_PHOTOCURRENT_SNR = 5.0
_NUMERICAL_FLOOR = 1e-9
# |correlation(V, J)| below this: the slope does not tell the sign; use the sign of mean J.
_MIN_SIGN_CORRELATION = 0.3
_NEWTON_ITERATIONS = 12
# dV/dJ in V / (mA/cm^2) times 1000 is Ohm cm^2.
_OHM_CM2_PER_V_PER_MA_CM2 = 1e3


@dataclass(frozen=True)
class JVAnalysis:
    """Metrics of one or many J-V curves (the result of :func:`analyze_jv`).

    Every metric is a float (1-D input) or a float array of shape ``(n_curves,)`` (2-D
    input), NaN where it could not be extracted (the reason is in ``warnings``).

    Attributes
    ----------
    voc_v : float or ndarray
        Open-circuit voltage [V].
    jsc_ma_cm2 : float or ndarray
        Short-circuit current density [mA/cm^2], photovoltaic sign (positive).
    ff : float or ndarray
        Fill factor Pmax / (Voc Jsc) [fraction].
    pce_pct : float or ndarray
        Power conversion efficiency Pmax / irradiance x 100 [%].
    vmpp_v : float or ndarray
        Voltage at the maximum power point [V].
    jmpp_ma_cm2 : float or ndarray
        Current density at the maximum power point, Pmax / Vmpp [mA/cm^2].
    pmax_mw_cm2 : float or ndarray
        Maximum power density from the local fit of P(V) [mW/cm^2].
    rs_ohm_cm2 : float or ndarray
        Apparent series resistance -dV/dJ at Voc [Ohm cm^2].
    rsh_ohm_cm2 : float or ndarray
        Apparent shunt resistance -dV/dJ at V = 0 [Ohm cm^2].
    sign_convention : str or ndarray of str
        Sign convention of the input current density: ``"photovoltaic"`` or ``"smu"``.
    scan_direction : str or ndarray of str
        ``"reverse"`` (voltage falling in input order) or ``"forward"``.
    warnings : list of str, or list of list of str
        Per curve, what was assumed or could not be extracted.
    """

    voc_v: Any
    jsc_ma_cm2: Any
    ff: Any
    pce_pct: Any
    vmpp_v: Any
    jmpp_ma_cm2: Any
    pmax_mw_cm2: Any
    rs_ohm_cm2: Any
    rsh_ohm_cm2: Any
    sign_convention: Any
    scan_direction: Any
    warnings: Any

    def metrics(self) -> dict[str, Any]:
        """Get the metrics as a dict keyed by :data:`METRIC_NAMES`."""
        return {name: getattr(self, name) for name in METRIC_NAMES}

    def __getitem__(self, name: str) -> Any:
        """Get a metric, ``sign_convention``, ``scan_direction`` or ``warnings`` by name."""
        if name not in METRIC_NAMES and name not in (
            "sign_convention",
            "scan_direction",
            "warnings",
        ):
            raise KeyError(name)
        return getattr(self, name)


# --------------------------------------------------------------------------------------------
# small public helpers


def fill_factor(pmax_mw_cm2: ArrayLike, voc_v: ArrayLike, jsc_ma_cm2: ArrayLike) -> Any:
    """Fill factor [fraction]: Pmax / (Voc Jsc), as in ASTM E1036 (docs/methods.md §7).

    Parameters
    ----------
    pmax_mw_cm2 : numeric
        Maximum power density [mW/cm^2].
    voc_v : numeric
        Open-circuit voltage [V].
    jsc_ma_cm2 : numeric
        Short-circuit current density [mA/cm^2], same sign as ``pmax_mw_cm2``.

    Returns
    -------
    numeric
        Fill factor [fraction]; NaN where Voc Jsc is zero or an input is NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = np.asarray(voc_v, dtype=float) * np.asarray(jsc_ma_cm2, dtype=float)
        result = np.where(denominator != 0, np.asarray(pmax_mw_cm2, dtype=float) / denominator,
                          np.nan)
    return result[()]


def pce_pct(pmax_mw_cm2: ArrayLike, irradiance_mw_cm2: ArrayLike = 100.0) -> Any:
    """Power conversion efficiency [%]: Pmax / irradiance x 100 (docs/methods.md §1).

    Parameters
    ----------
    pmax_mw_cm2 : numeric
        Maximum power density [mW/cm^2].
    irradiance_mw_cm2 : numeric, default 100
        Irradiance of the measurement [mW/cm^2], > 0.

    Returns
    -------
    numeric
        PCE [%]; NaN where the irradiance is not positive and finite.
    """
    irradiance = np.asarray(irradiance_mw_cm2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(
            np.isfinite(irradiance) & (irradiance > 0),
            np.asarray(pmax_mw_cm2, dtype=float) / irradiance * 100.0,
            np.nan,
        )
    return result[()]


def hysteresis_index(pce_reverse_pct: ArrayLike, pce_forward_pct: ArrayLike) -> Any:
    """PCE-based hysteresis index [fraction]: (PCE_rev - PCE_fwd) / PCE_rev.

    Definition (a) of docs/methods.md §6 and of ``hysteresis_index`` in ``summary.json``.
    Positive for normal hysteresis (reverse scan above forward), negative for inverted
    hysteresis. The value depends on scan rate, dwell and preconditioning [1]_: report it with
    them.

    Parameters
    ----------
    pce_reverse_pct : numeric
        PCE of the reverse (Voc -> Jsc) scan [%].
    pce_forward_pct : numeric
        PCE of the forward (Jsc -> Voc) scan [%].

    Returns
    -------
    numeric
        Hysteresis index [fraction]; NaN where PCE_rev is zero or an input is NaN.

    References
    ----------
    .. [1] S. N. Habisreutinger, N. K. Noel, H. J. Snaith, ACS Energy Lett. 3, 2472-2476 (2018),
       :doi:`10.1021/acsenergylett.8b01627`
    """
    reverse = np.asarray(pce_reverse_pct, dtype=float)
    forward = np.asarray(pce_forward_pct, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(reverse != 0, (reverse - forward) / reverse, np.nan)
    return result[()]


def hysteresis_index_08voc(
    voltage_reverse_v: ArrayLike,
    current_density_reverse_ma_cm2: ArrayLike,
    voltage_forward_v: ArrayLike,
    current_density_forward_ma_cm2: ArrayLike,
    voc_v: ArrayLike | None = None,
) -> Any:
    """Current-based hysteresis index at 0.8 Voc [fraction].

    HI = [J_rev(0.8 Voc) - J_fwd(0.8 Voc)] / J_rev(0.8 Voc), definition (b) of
    docs/methods.md §6 (``hysteresis_index_08voc`` in ``summary.json``). Each J is interpolated
    at 0.8 Voc by a cubic through the four samples around it. The value depends on scan rate,
    dwell and preconditioning [1]_: report it with them.

    Parameters
    ----------
    voltage_reverse_v, current_density_reverse_ma_cm2 : array_like
        Reverse-scan curve [V], [mA/cm^2]; 1-D, or 2-D ``(n_curves, n_points)``. Either sign
        convention (detected per curve) and any point order; NaN is ignored.
    voltage_forward_v, current_density_forward_ma_cm2 : array_like
        Forward-scan curve(s), as above (may have another number of points).
    voc_v : numeric, optional
        Open-circuit voltage [V] defining 0.8 Voc. Default: Voc of the reverse scan.

    Returns
    -------
    numeric
        Hysteresis index [fraction]: a float for 1-D curves, an array ``(n_curves,)`` for 2-D.
        NaN where 0.8 Voc lies outside either curve or J_rev(0.8 Voc) is zero.

    References
    ----------
    .. [1] S. N. Habisreutinger, N. K. Noel, H. J. Snaith, ACS Energy Lett. 3, 2472-2476 (2018),
       :doi:`10.1021/acsenergylett.8b01627`
    """
    v_rev, j_rev, one_curve_rev = _as_batch(voltage_reverse_v, current_density_reverse_ma_cm2)
    v_fwd, j_fwd, one_curve_fwd = _as_batch(voltage_forward_v, current_density_forward_ma_cm2)
    if voc_v is None:
        voc = np.asarray(analyze_jv(v_rev, j_rev).voc_v, dtype=float)
    else:
        voc = np.asarray(voc_v, dtype=float)
    if voc.ndim > 1:
        raise ValueError("voc_v must be a scalar or a 1-D array (one value per curve)")
    n_curves = max(v_rev.shape[0], v_fwd.shape[0], voc.size if voc.ndim else 1)
    voltage_08_v = np.broadcast_to(0.8 * voc, (n_curves,))
    j_rev_08 = _interpolate_photovoltaic(v_rev, j_rev, voltage_08_v)
    j_fwd_08 = _interpolate_photovoltaic(v_fwd, j_fwd, voltage_08_v)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.where(j_rev_08 != 0, (j_rev_08 - j_fwd_08) / j_rev_08, np.nan)
    if one_curve_rev and one_curve_fwd and result.shape == (1,):
        return float(result[0])
    return result


def detect_sign_convention(voltage_v: ArrayLike, current_density_ma_cm2: ArrayLike) -> Any:
    """Detect the sign convention of J-V curves (the SMU's sign or the photovoltaic one,
    docs/methods.md §1).

    In the photovoltaic convention J falls with V everywhere (the diode and shunt currents
    subtract from the photocurrent), light or dark; in the SMU convention it rises. The sign of
    the V-J correlation decides. When the correlation is weak (|r| < 0.3: a flat or
    noise-dominated curve) the sign of the mean current density decides instead (a
    photocurrent is positive in the photovoltaic convention); a curve with neither is taken
    as photovoltaic.

    Parameters
    ----------
    voltage_v : array_like
        Voltage [V], 1-D or 2-D ``(n_curves, n_points)``; NaN ignored.
    current_density_ma_cm2 : array_like
        Current density [mA/cm^2], same shape (or broadcastable).

    Returns
    -------
    str or ndarray of str
        ``"photovoltaic"`` or ``"smu"`` (a str for 1-D input).
    """
    voltage, current, one_curve = _as_batch(voltage_v, current_density_ma_cm2)
    is_smu, _ = _detect_smu_sign(voltage, current)
    conventions = np.where(is_smu, SMU, PHOTOVOLTAIC)
    return str(conventions[0]) if one_curve else conventions


def rectify_jv_curve(
    voltage_v: ArrayLike, current_density_ma_cm2: ArrayLike, decimals: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Clean one J-V curve: drop NaN, sort by voltage, merge duplicate voltages.

    Like :func:`pvlib.ivtools.utils.rectify_iv_curve` (docs/methods.md §7), except that it
    keeps every quadrant (the points around J = 0 and V = 0 are needed on both sides) and the
    sign convention.

    Parameters
    ----------
    voltage_v : array_like
        Voltage [V], 1-D.
    current_density_ma_cm2 : array_like
        Current density [mA/cm^2], 1-D, same length.
    decimals : int, optional
        Round the voltage to this many decimals before merging duplicates. Default: exact
        duplicates only.

    Returns
    -------
    voltage_v : ndarray
        Strictly increasing voltage [V].
    current_density_ma_cm2 : ndarray
        Current density [mA/cm^2]; the mean where voltages were merged.
    """
    voltage = np.asarray(voltage_v, dtype=float)
    current = np.asarray(current_density_ma_cm2, dtype=float)
    if voltage.ndim != 1 or voltage.shape != current.shape:
        raise ValueError("voltage_v and current_density_ma_cm2 must be 1-D of equal length")
    if decimals is not None:
        voltage = np.round(voltage, decimals)
    v_sorted, j_sorted, n_valid = _rectify_rows(voltage[None, :], current[None, :])
    return v_sorted[0, : n_valid[0]].copy(), j_sorted[0, : n_valid[0]].copy()


# --------------------------------------------------------------------------------------------
# the analysis


def analyze_jv(
    voltage_v: ArrayLike,
    current_density_ma_cm2: ArrayLike,
    irradiance_mw_cm2: ArrayLike = 100.0,
    sign_convention: str = "auto",
) -> JVAnalysis:
    """Extract Voc, Jsc, FF, PCE, the maximum power point, R_s and R_sh from J-V curves.

    Model-free, after ASTM E1036 [1]_ (docs/methods.md §7), vectorised over curves: no Python
    loop over curves. The steps, the departures from ASTM E1036 and the accuracy are in the
    module docstring.

    Parameters
    ----------
    voltage_v : array_like
        Voltage [V]: 1-D (one curve) or 2-D ``(n_curves, n_points)``. Any order (reverse or
        forward scan); NaN marks padding or missing points and is ignored.
    current_density_ma_cm2 : array_like
        Current density [mA/cm^2], same shape as ``voltage_v`` (a 1-D voltage is broadcast
        against 2-D currents). Photovoltaic or SMU sign, per curve.
    irradiance_mw_cm2 : numeric, default 100
        Irradiance of each measurement [mW/cm^2], scalar or ``(n_curves,)``; only PCE uses it.
        PCE is NaN (with a warning) where it is not positive.
    sign_convention : {"auto", "photovoltaic", "smu"}, default "auto"
        Sign convention of the input; ``"auto"`` detects it per curve
        (:func:`detect_sign_convention`).

    Returns
    -------
    JVAnalysis
        The metrics of :data:`METRIC_NAMES` (floats for 1-D input, ``(n_curves,)`` arrays for
        2-D), ``sign_convention``, ``scan_direction`` and per-curve ``warnings``. A curve that
        does not cross J = 0 (dark, or Voc beyond the scan) gives NaN for voc_v, ff and
        rs_ohm_cm2; one without V = 0 in its range gives NaN for jsc_ma_cm2, ff and
        rsh_ohm_cm2 (V = 0 counts as in range when the scan ends within a quarter step of it,
        e.g. the read-back of a 0 V set point); a curve without photocurrent above five times
        its noise (estimated from second differences) gives NaN for everything but jsc_ma_cm2
        and rsh_ohm_cm2. Never raises for the content of a curve.

    Raises
    ------
    ValueError
        If the arrays are not 1-D/2-D with matching shapes, or ``sign_convention`` is unknown.

    References
    ----------
    .. [1] ASTM E1036-15(2019), :doi:`10.1520/E1036-15R19`
    """
    if sign_convention not in _SIGN_CONVENTIONS:
        raise ValueError(f"sign_convention must be one of {_SIGN_CONVENTIONS}, "
                         f"not {sign_convention!r}")
    voltage_raw, current_raw, one_curve = _as_batch(voltage_v, current_density_ma_cm2)
    n_curves = voltage_raw.shape[0]
    irradiance = _irradiance_per_curve(irradiance_mw_cm2, n_curves)
    flags: dict[str, NDArray[np.bool_]] = {}
    scan_is_reverse = _scan_is_reverse(voltage_raw, current_raw)
    curves, is_smu = _photovoltaic_rows(voltage_raw, current_raw, sign_convention, flags)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        metrics, noise_ma_cm2, j_photo = _extract_metrics(curves, irradiance, flags)
    warnings = _warning_texts(flags, n_curves, noise_ma_cm2, j_photo)
    conventions = np.where(is_smu, SMU, PHOTOVOLTAIC)
    directions = np.where(scan_is_reverse, "reverse", "forward")
    if one_curve:
        return JVAnalysis(**{name: float(value[0]) for name, value in metrics.items()},
                          sign_convention=str(conventions[0]),
                          scan_direction=str(directions[0]), warnings=warnings[0])
    return JVAnalysis(**{name: np.asarray(value, dtype=float) for name, value in metrics.items()},
                      sign_convention=conventions, scan_direction=directions, warnings=warnings)


def jv_metrics(
    voltage_v: ArrayLike,
    current_density_ma_cm2: ArrayLike,
    irradiance_mw_cm2: float = 100.0,
) -> tuple[dict[str, float], list[str]]:
    """Metrics of ONE J-V curve as plain floats, for ``summary.json``.

    A thin wrapper over :func:`analyze_jv`: the model-free extraction after ASTM E1036
    (:doi:`10.1520/E1036-15R19`; docs/methods.md §7).

    Parameters
    ----------
    voltage_v : array_like
        Voltage [V], 1-D, any order; NaN ignored.
    current_density_ma_cm2 : array_like
        Current density [mA/cm^2], 1-D, either sign convention.
    irradiance_mw_cm2 : float, default 100
        Irradiance of the measurement [mW/cm^2].

    Returns
    -------
    metrics : dict of str to float
        Keys :data:`METRIC_NAMES`; NaN where a metric could not be extracted.
    warnings : list of str
        What was assumed (e.g. the SMU sign convention) or could not be extracted.
    """
    voltage = np.asarray(voltage_v, dtype=float)
    current = np.asarray(current_density_ma_cm2, dtype=float)
    if voltage.ndim != 1 or current.ndim != 1:
        raise ValueError("jv_metrics takes one curve: 1-D voltage_v and current_density_ma_cm2")
    result = analyze_jv(voltage, current, irradiance_mw_cm2=float(irradiance_mw_cm2))
    return {name: float(value) for name, value in result.metrics().items()}, list(
        result.warnings
    )


# --------------------------------------------------------------------------------------------
# the steps of analyze_jv (vectorised over rows = curves; called under np.errstate(ignore))


@dataclass(frozen=True)
class _Rows:
    """Rectified curves in the photovoltaic sign, one per row, NaN-padded at the end."""

    voltage: NDArray[np.float64]
    current: NDArray[np.float64]
    n_valid: NDArray[np.intp]

    @property
    def enough(self) -> NDArray[np.bool_]:
        """True where a row has enough valid points to be analysed."""
        return self.n_valid >= _MIN_POINTS

    @property
    def rows(self) -> NDArray[np.intp]:
        """Row indices ``0 .. n_curves - 1``."""
        return np.arange(self.voltage.shape[0])

    @property
    def valid(self) -> NDArray[np.bool_]:
        """True on the first ``n_valid`` entries of each row."""
        return np.arange(self.voltage.shape[1])[None, :] < self.n_valid[:, None]

    @property
    def v_first(self) -> NDArray[np.float64]:
        """Lowest voltage of each row [V]."""
        return self.voltage[self.rows, 0]

    @property
    def v_last(self) -> NDArray[np.float64]:
        """Highest voltage of each row [V] (NaN for a row without valid points)."""
        return self.voltage[self.rows, np.maximum(self.n_valid - 1, 0)]


def _irradiance_per_curve(irradiance_mw_cm2: ArrayLike, n_curves: int) -> NDArray[np.float64]:
    """The irradiance [mW/cm^2] as one value per curve (a scalar is broadcast)."""
    irradiance = np.asarray(irradiance_mw_cm2, dtype=float)
    if irradiance.ndim > 1 or (irradiance.ndim == 1 and irradiance.shape[0] not in (1, n_curves)):
        raise ValueError("irradiance_mw_cm2 must be a scalar or one value per curve")
    return np.broadcast_to(irradiance.reshape(-1) if irradiance.ndim else irradiance,
                           (n_curves,))


def _photovoltaic_rows(
    voltage_raw: NDArray[np.float64],
    current_raw: NDArray[np.float64],
    sign_convention: str,
    flags: dict[str, NDArray[np.bool_]],
) -> tuple[_Rows, NDArray[np.bool_]]:
    """Rectify the rows and turn them to the photovoltaic sign; return them and "was SMU"."""
    voltage, current, n_valid = _rectify_rows(voltage_raw, current_raw)
    n_curves = voltage.shape[0]
    if sign_convention == "auto":
        is_smu, ambiguous = _detect_smu_sign(voltage, current)
    else:
        is_smu = np.full(n_curves, sign_convention == SMU)
        ambiguous = np.zeros(n_curves, dtype=bool)
    current = np.where(is_smu[:, None], -current, current)
    flags["smu"] = is_smu & (sign_convention == "auto")
    flags["ambiguous_sign"] = ambiguous
    return _Rows(voltage=voltage, current=current, n_valid=n_valid), is_smu


def _extract_metrics(
    curves: _Rows, irradiance: NDArray[np.float64], flags: dict[str, NDArray[np.bool_]]
) -> tuple[dict[str, NDArray[np.float64]], NDArray[np.float64], NDArray[np.float64]]:
    """All metrics of :data:`METRIC_NAMES`, the noise level and the photocurrent per row.

    Adds the flags of each step to ``flags``, in the order their warnings are listed.
    """
    flags["too_few"] = ~curves.enough
    noise_ma_cm2 = _noise_level(curves.current, curves.valid)
    power = curves.voltage * curves.current
    i_mpp, has_quadrant = _largest_sampled_power(curves, power)
    step_v = _median_step(curves.voltage, curves.valid)
    v_mpp_sampled = np.where(has_quadrant, curves.voltage[curves.rows, i_mpp], np.nan)
    jsc, slope_sc = _short_circuit(curves, step_v, v_mpp_sampled, flags)
    lit, j_photo = _illuminated(curves, jsc, noise_ma_cm2, flags)
    voc, slope_oc, has_crossing = _open_circuit(curves, lit, flags)
    vmpp, pmax = _maximum_power_point(curves, power, i_mpp, step_v, lit, has_quadrant, flags)
    rs = np.where(slope_oc < 0, -_OHM_CM2_PER_V_PER_MA_CM2 / slope_oc, np.nan)
    rs = np.where(has_crossing, rs, np.nan)
    flags["rs_unresolved"] = has_crossing & ~np.isfinite(rs)
    rsh = np.where(slope_sc < 0, -_OHM_CM2_PER_V_PER_MA_CM2 / slope_sc, np.nan)
    rsh = np.where(np.isfinite(jsc), rsh, np.nan)
    flags["rsh_unresolved"] = np.isfinite(jsc) & ~np.isfinite(rsh)
    flags["bad_irradiance"] = np.isfinite(pmax) & ~(np.isfinite(irradiance) & (irradiance > 0))
    metrics = {
        "voc_v": voc, "jsc_ma_cm2": jsc, "ff": fill_factor(pmax, voc, jsc),
        "pce_pct": pce_pct(pmax, irradiance), "vmpp_v": vmpp, "jmpp_ma_cm2": pmax / vmpp,
        "pmax_mw_cm2": pmax, "rs_ohm_cm2": rs, "rsh_ohm_cm2": rsh,
    }
    return metrics, noise_ma_cm2, j_photo


def _largest_sampled_power(
    curves: _Rows, power: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Index of the largest sampled power in the power quadrant (V > 0, J > 0) of each row,
    and whether the row has a sample in that quadrant."""
    in_quadrant = curves.valid & (curves.voltage > 0) & (curves.current > 0)
    i_mpp = np.argmax(np.where(in_quadrant, power, -np.inf), axis=1)
    return i_mpp, in_quadrant.any(axis=1)


def _short_circuit(
    curves: _Rows,
    step_v: NDArray[np.float64],
    v_mpp_sampled: NDArray[np.float64],
    flags: dict[str, NDArray[np.bool_]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Jsc [mA/cm^2] and the slope dJ/dV at V = 0 from a local quadratic around V = 0 (over
    V <= Vmpp/2, ``v_mpp_sampled`` being the voltage of the largest sampled power)."""
    voltage, current, n_valid = curves.voltage, curves.current, curves.n_valid
    tolerance_v = 0.25 * np.nan_to_num(step_v, nan=0.0)
    has_v0 = curves.enough & (curves.v_first <= tolerance_v) & (curves.v_last >= -tolerance_v)
    i_zero = np.sum(curves.valid & (voltage < 0), axis=1)
    v_cut = np.where(np.isfinite(v_mpp_sampled), 0.5 * v_mpp_sampled, np.inf)
    lo = np.maximum(i_zero - _JSC_HALF_WIDTH, 0)
    fit = _fit_local(voltage, current, n_valid, lo, 2 * _JSC_HALF_WIDTH + 1, _JSC_DEGREE, v_cut)
    t0 = (0.0 - fit.x0) / fit.scale
    jsc = np.where(has_v0, _polyval(fit.coef, t0), np.nan)
    slope_sc = _polyval(_polyder(fit.coef), t0) / fit.scale
    flags["no_v0"] = curves.enough & ~has_v0
    flags["few_near_v0"] = has_v0 & ~np.isfinite(jsc)
    return jsc, slope_sc


def _illuminated(
    curves: _Rows,
    jsc: NDArray[np.float64],
    noise_ma_cm2: NDArray[np.float64],
    flags: dict[str, NDArray[np.bool_]],
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Whether each row has a photocurrent above its noise, and that photocurrent [mA/cm^2]
    (Jsc, else J at the lowest voltage when the scan starts above 0 V)."""
    current, enough = curves.current, curves.enough
    j_abs_max = np.max(np.where(curves.valid, np.abs(current), 0.0), axis=1)
    j_photo = np.where(np.isfinite(jsc), jsc,
                       np.where(curves.v_first > 0, current[curves.rows, 0], np.nan))
    threshold = np.maximum(_MIN_PHOTOCURRENT_SNR * noise_ma_cm2, _NUMERICAL_FLOOR * j_abs_max)
    lit = enough & (j_photo > threshold)
    flags["dark"] = enough & ~lit & ~flags["no_v0"]
    flags["dark_no_v0"] = enough & ~lit & flags["no_v0"]
    return lit, j_photo


def _open_circuit(
    curves: _Rows, lit: NDArray[np.bool_], flags: dict[str, NDArray[np.bool_]]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Voc [V] and the slope dJ/dV there from a cubic through the four samples bracketing the
    highest-voltage crossing of J = 0 from positive to negative; and whether there is one."""
    voltage, current, n_valid, rows = curves.voltage, curves.current, curves.n_valid, curves.rows
    n_curves, n_points = voltage.shape
    j_next = np.concatenate([current[:, 1:], np.full((n_curves, 1), np.nan)], axis=1)
    v_next = np.concatenate([voltage[:, 1:], np.full((n_curves, 1), np.nan)], axis=1)
    crossing = curves.valid & (current > 0) & (j_next <= 0) & (v_next > 0)
    has_crossing = crossing.any(axis=1) & lit
    k = n_points - 1 - np.argmax(crossing[:, ::-1], axis=1)
    lo = np.clip(k - _VOC_BEFORE, 0, np.maximum(n_valid - _VOC_WIDTH, 0))
    fit = _fit_local(voltage, current, n_valid, lo, _VOC_WIDTH, _VOC_DEGREE)
    k1 = np.minimum(k + 1, n_points - 1)
    t_low = (voltage[rows, k] - fit.x0) / fit.scale
    t_high = (voltage[rows, k1] - fit.x0) / fit.scale
    j_low, j_high = current[rows, k], current[rows, k1]
    t_start = t_low + (t_high - t_low) * j_low / (j_low - j_high)
    t_voc = _newton_root(fit.coef, t_start, t_low, t_high)
    voc = np.where(has_crossing, fit.x0 + fit.scale * t_voc, np.nan)
    slope_oc = np.where(has_crossing, _polyval(_polyder(fit.coef), t_voc) / fit.scale, np.nan)
    flags["no_crossing"] = lit & ~has_crossing
    return voc, slope_oc, has_crossing


def _maximum_power_point(
    curves: _Rows,
    power: NDArray[np.float64],
    i_mpp: NDArray[np.intp],
    step_v: NDArray[np.float64],
    lit: NDArray[np.bool_],
    has_quadrant: NDArray[np.bool_],
    flags: dict[str, NDArray[np.bool_]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Vmpp [V] and Pmax [mW/cm^2]: a local quartic of P(V) around the largest sampled power,
    refitted once around the sample nearest to the first estimate (noise can displace the
    sampled maximum); the largest sampled power where the fit fails."""
    voltage, n_valid, rows = curves.voltage, curves.n_valid, curves.rows
    interior = (i_mpp >= 1) & (i_mpp <= n_valid - 2)
    power_ok = lit & has_quadrant & interior
    half_width = np.round(_PMAX_HALF_WIDTH_V / step_v)
    half_width = np.clip(np.where(np.isfinite(half_width), half_width, 0),
                         _PMAX_MIN_HALF_WIDTH, _PMAX_MAX_HALF_WIDTH).astype(np.intp)
    vmpp, pmax, fit_ok = _maximum_power(voltage, power, n_valid, i_mpp, half_width)
    nearest = np.argmin(np.where(curves.valid, np.abs(voltage - vmpp[:, None]), np.inf), axis=1)
    moved = np.flatnonzero(fit_ok & (nearest != i_mpp))
    if moved.size:
        vmpp_2, pmax_2, fit_ok_2 = _maximum_power(voltage[moved], power[moved], n_valid[moved],
                                                  nearest[moved], half_width[moved])
        vmpp[moved] = np.where(fit_ok_2, vmpp_2, vmpp[moved])
        pmax[moved] = np.where(fit_ok_2, pmax_2, pmax[moved])
    vmpp = np.where(power_ok, np.where(fit_ok, vmpp, voltage[rows, i_mpp]), np.nan)
    pmax = np.where(power_ok, np.where(fit_ok, pmax, power[rows, i_mpp]), np.nan)
    flags["mpp_edge"] = lit & has_quadrant & ~interior
    flags["mpp_no_quadrant"] = lit & ~has_quadrant
    flags["mpp_fit_failed"] = power_ok & ~fit_ok
    return vmpp, pmax


# --------------------------------------------------------------------------------------------
# private helpers (all vectorised over rows = curves)


@dataclass(frozen=True)
class _LocalFit:
    """Polynomial y = sum coef[:, p] t**p with t = (x - x0) / scale, one per row."""

    coef: NDArray[np.float64]
    x0: NDArray[np.float64]
    scale: NDArray[np.float64]


def _as_batch(
    voltage_v: ArrayLike, current_density_ma_cm2: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], bool]:
    """Return 2-D float copies ``(n_curves, n_points)`` and whether the input was one curve."""
    voltage = np.asarray(voltage_v, dtype=float)
    current = np.asarray(current_density_ma_cm2, dtype=float)
    if voltage.ndim not in (1, 2) or current.ndim not in (1, 2):
        raise ValueError("voltage and current density must be 1-D (one curve) or 2-D "
                         "(n_curves, n_points)")
    one_curve = voltage.ndim == 1 and current.ndim == 1
    try:
        voltage, current = np.broadcast_arrays(np.atleast_2d(voltage), np.atleast_2d(current))
    except ValueError as error:
        raise ValueError(f"voltage shape {voltage.shape} and current density shape "
                         f"{current.shape} do not match") from error
    if voltage.shape[1] == 0:  # no points at all: one NaN point, analysed like any other
        voltage = current = np.full((voltage.shape[0], 1), np.nan)
    return np.array(voltage), np.array(current), one_curve


def _rectify_rows(
    voltage: NDArray[np.float64], current: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Sort each row by voltage, drop NaN, average duplicate voltages; pad with NaN at the end.

    Returns the voltage, the current (same shape as the input) and the number of valid points
    per row (the first ``n_valid`` entries of each row).
    """
    valid = np.isfinite(voltage) & np.isfinite(current)
    if valid.all() and voltage.shape[1] > 1:
        step = np.diff(voltage, axis=1)
        if (step > 0).all():  # already sorted, no duplicates: the common forward scan
            return voltage, current, np.full(voltage.shape[0], voltage.shape[1])
        if (step < 0).all():  # a reverse scan
            return (voltage[:, ::-1].copy(), current[:, ::-1].copy(),
                    np.full(voltage.shape[0], voltage.shape[1]))
    order = np.argsort(np.where(valid, voltage, np.inf), axis=1, kind="stable")
    voltage = np.take_along_axis(np.where(valid, voltage, np.nan), order, axis=1)
    current = np.take_along_axis(np.where(valid, current, np.nan), order, axis=1)
    valid = np.take_along_axis(valid, order, axis=1)
    duplicate = np.zeros_like(valid)
    duplicate[:, 1:] = valid[:, 1:] & (voltage[:, 1:] == voltage[:, :-1])
    if duplicate.any():
        first = valid & ~duplicate
        group = np.cumsum(first.ravel()) - 1
        in_valid = valid.ravel()
        sums = np.bincount(group[in_valid], weights=current.ravel()[in_valid])
        counts = np.bincount(group[in_valid])
        mean = (sums / counts)[np.maximum(group, 0)].reshape(current.shape)
        return _rectify_rows(np.where(first, voltage, np.nan), np.where(first, mean, np.nan))
    return voltage, current, valid.sum(axis=1)


def _scan_is_reverse(voltage: NDArray[np.float64], current: NDArray[np.float64]) -> NDArray:
    """True where the first valid voltage (input order) is above the last one."""
    valid = np.isfinite(voltage) & np.isfinite(current)
    n_points = voltage.shape[1]
    first = np.argmax(valid, axis=1)
    last = n_points - 1 - np.argmax(valid[:, ::-1], axis=1)
    rows = np.arange(voltage.shape[0])
    return voltage[rows, first] > voltage[rows, last]


def _detect_smu_sign(
    voltage: NDArray[np.float64], current: NDArray[np.float64]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Return (is SMU sign, ambiguous) per row; see :func:`detect_sign_convention`."""
    valid = np.isfinite(voltage) & np.isfinite(current)
    count = np.maximum(valid.sum(axis=1), 1)
    v = np.where(valid, voltage, 0.0)
    j = np.where(valid, current, 0.0)
    v_mean = v.sum(axis=1) / count
    j_mean = j.sum(axis=1) / count
    dv = np.where(valid, v - v_mean[:, None], 0.0)
    dj = np.where(valid, j - j_mean[:, None], 0.0)
    covariance = np.sum(dv * dj, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = covariance / np.sqrt(np.sum(dv**2, axis=1) * np.sum(dj**2, axis=1))
    correlation = np.nan_to_num(correlation, nan=0.0)
    decided_by_slope = np.abs(correlation) >= _MIN_SIGN_CORRELATION
    is_smu = np.where(decided_by_slope, correlation > 0, j_mean < 0)
    ambiguous = ~decided_by_slope
    return is_smu, ambiguous


def _noise_level(current: NDArray[np.float64], valid: NDArray[np.bool_]) -> NDArray:
    """Robust per-row noise estimate [mA/cm^2] from second differences (MAD / sqrt(6))."""
    if current.shape[1] < 3:
        return np.zeros(current.shape[0])
    second = current[:, :-2] - 2.0 * current[:, 1:-1] + current[:, 2:]
    median = _row_median(np.abs(second), valid[:, 2:] & np.isfinite(second))
    return 1.4826 * np.nan_to_num(median, nan=0.0) / np.sqrt(6.0)


def _median_step(voltage: NDArray[np.float64], valid: NDArray[np.bool_]) -> NDArray:
    """Median voltage step per row [V] (NaN with fewer than two points)."""
    if voltage.shape[1] < 2:
        return np.full(voltage.shape[0], np.nan)
    return _row_median(np.diff(voltage, axis=1), valid[:, 1:])


def _row_median(values: NDArray[np.float64], use: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Median of the used entries of each row (NaN for a row without any)."""
    ordered = np.sort(np.where(use, values, np.inf), axis=1)
    count = use.sum(axis=1)
    low = np.clip((count - 1) // 2, 0, None)[:, None]
    high = np.clip(count // 2, 0, values.shape[1] - 1)[:, None]
    median = 0.5 * (np.take_along_axis(ordered, low, axis=1)[:, 0]
                    + np.take_along_axis(ordered, high, axis=1)[:, 0])
    return np.where(count > 0, median, np.nan)


def _fit_local(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    n_valid: NDArray[np.intp],
    lo: NDArray[np.intp],
    width: int,
    degree: int,
    x_max: NDArray[np.float64] | None = None,
) -> _LocalFit:
    """Least-squares polynomial of y(x) on samples lo .. lo + width - 1 of each row.

    Samples beyond ``n_valid`` (and with x > ``x_max``, if given) are left out; rows with fewer
    than ``degree + 1`` samples get NaN coefficients. x is centred and scaled to [-1, 1]
    before the normal equations are solved (never raises).
    """
    n_curves, n_points = x.shape
    index = lo[:, None] + np.arange(width)[None, :]
    inside = index < n_valid[:, None]
    index = np.minimum(index, n_points - 1)
    xs = np.take_along_axis(x, index, axis=1)
    ys = np.take_along_axis(y, index, axis=1)
    use = inside & np.isfinite(xs) & np.isfinite(ys)
    if x_max is not None:
        use &= xs <= x_max[:, None]
    x_low = np.min(np.where(use, xs, np.inf), axis=1)
    x_high = np.max(np.where(use, xs, -np.inf), axis=1)
    x0 = 0.5 * (x_low + x_high)
    scale = 0.5 * (x_high - x_low)
    good = (use.sum(axis=1) >= degree + 1) & (scale > 0) & np.isfinite(scale)
    x0 = np.where(good, x0, 0.0)
    scale = np.where(good, scale, 1.0)
    t = np.where(use, (xs - x0[:, None]) / scale[:, None], 0.0)
    # normal equations from the moments sum(t**p), p = 0 .. 2 degree
    powers = np.empty((n_curves, 2 * degree + 1, width))
    powers[:, 0] = use
    for p in range(1, 2 * degree + 1):
        powers[:, p] = powers[:, p - 1] * t
    moments = powers.sum(axis=2)
    normal = moments[:, np.arange(degree + 1)[:, None] + np.arange(degree + 1)[None, :]]
    rhs = np.einsum("npw,nw->np", powers[:, : degree + 1], np.where(use, ys, 0.0))
    normal[~good] = np.eye(degree + 1)
    try:
        coef = np.linalg.solve(normal, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # an exactly singular row: the pseudo-inverse never raises
        coef = np.einsum("nij,nj->ni", np.linalg.pinv(normal), rhs)
    coef[~good] = np.nan
    return _LocalFit(coef=coef, x0=x0, scale=scale)


def _maximum_power(
    voltage: NDArray[np.float64],
    power: NDArray[np.float64],
    n_valid: NDArray[np.intp],
    center: NDArray[np.intp],
    half_width: NDArray[np.intp],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Maximum of a local quartic of P(V) on samples center +- half_width of each row.

    Least squares with more than five samples, interpolation with five. Returns Vmpp [V],
    Pmax [mW/cm^2] and whether a maximum (dP/dV = 0, d2P/dV2 < 0) was found inside the
    fitted range.
    """
    rows = np.arange(voltage.shape[0])
    width = 2 * half_width + 1
    lo = np.clip(center - half_width, 0, np.maximum(n_valid - width, 0))
    end = np.minimum(n_valid, lo + width)
    fit = _fit_local(voltage, power, end, lo, 2 * _PMAX_MAX_HALF_WIDTH + 1, _PMAX_DEGREE)
    coef, x0, scale = fit.coef, fit.x0, fit.scale
    t_start = (voltage[rows, center] - x0) / scale
    derivative = _polyder(coef)
    t_mpp = _newton_root(derivative, t_start, np.full_like(t_start, -1.0),
                         np.full_like(t_start, 1.0))
    curvature = _polyval(_polyder(derivative), t_mpp)
    pmax = _polyval(coef, t_mpp)
    converged = np.abs(_polyval(derivative, t_mpp)) <= 1e-9 * np.abs(pmax) + 1e-15
    ok = np.isfinite(pmax) & (curvature < 0) & converged
    return x0 + scale * t_mpp, pmax, ok


def _polyval(coef: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Evaluate per-row polynomials (coefficients lowest order first) at t (one per row)."""
    result = np.zeros_like(t, dtype=float) + coef[:, -1]
    for p in range(coef.shape[1] - 2, -1, -1):
        result = result * t + coef[:, p]
    return result


def _polyder(coef: NDArray[np.float64]) -> NDArray[np.float64]:
    """Coefficients of the derivative (lowest order first)."""
    return coef[:, 1:] * np.arange(1, coef.shape[1])[None, :]


def _newton_root(
    coef: NDArray[np.float64],
    t_start: NDArray[np.float64],
    t_low: NDArray[np.float64],
    t_high: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Newton's method for a root of per-row polynomials, kept inside [t_low, t_high]."""
    derivative = _polyder(coef)
    t_min = np.minimum(t_low, t_high)
    t_max = np.maximum(t_low, t_high)
    t = np.clip(np.where(np.isfinite(t_start), t_start, 0.5 * (t_min + t_max)), t_min, t_max)
    for _ in range(_NEWTON_ITERATIONS):
        value = _polyval(coef, t)
        slope = _polyval(derivative, t)
        step = np.where(slope != 0, value / slope, 0.0)
        t = np.clip(t - step, t_min, t_max)
    return t


def _interpolate_photovoltaic(
    voltage: NDArray[np.float64], current: NDArray[np.float64], at_v: NDArray[np.float64]
) -> NDArray[np.float64]:
    """J [mA/cm^2, photovoltaic sign] at ``at_v`` [V] (one per row) by a local cubic; NaN
    outside the curve."""
    n_rows = max(voltage.shape[0], at_v.shape[0])
    voltage = np.broadcast_to(voltage, (n_rows, voltage.shape[1]))
    current = np.broadcast_to(current, (n_rows, current.shape[1]))
    curves, _ = _photovoltaic_rows(voltage, current, "auto", {})
    below = np.sum(curves.valid & (curves.voltage <= at_v[:, None]), axis=1)
    lo = np.clip(below - 2, 0, np.maximum(curves.n_valid - _VOC_WIDTH, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = _fit_local(curves.voltage, curves.current, curves.n_valid, lo, _VOC_WIDTH,
                         _VOC_DEGREE)
        value = _polyval(fit.coef, (at_v - fit.x0) / fit.scale)
    inside = (curves.n_valid >= 2) & (at_v >= curves.v_first) & (at_v <= curves.v_last)
    return np.where(inside, value, np.nan)


_NAN_ALL = "all metrics are NaN"
_WARNING_TEXTS: dict[str, str] = {
    "smu": "current density had the SMU sign (generated current negative); converted to the "
           "photovoltaic sign",
    "ambiguous_sign": "sign convention ambiguous (current density hardly varies with voltage); "
                      "decided by the sign of the mean current density",
    "too_few": f"fewer than {_MIN_POINTS} valid points: {_NAN_ALL}",
    "no_v0": "V = 0 is not within the scan: jsc_ma_cm2, ff and rsh_ohm_cm2 are NaN",
    "few_near_v0": "too few points near V = 0 for the short-circuit fit: jsc_ma_cm2, ff and "
                   "rsh_ohm_cm2 are NaN",
    "no_crossing": "current density does not cross zero within the scan (Voc beyond the "
                   "scanned range?): voc_v, ff and rs_ohm_cm2 are NaN",
    "mpp_edge": "largest power at the edge of the scan: vmpp_v, jmpp_ma_cm2, pmax_mw_cm2, "
                "pce_pct and ff are NaN",
    "mpp_no_quadrant": "no point with V > 0 and J > 0: no power produced; vmpp_v, jmpp_ma_cm2, "
                       "pmax_mw_cm2, pce_pct and ff are NaN",
    "mpp_fit_failed": "polynomial fit around the maximum power point failed: Pmax is the "
                      "largest sampled power",
    "rs_unresolved": "slope at Voc not negative: rs_ohm_cm2 is NaN",
    "rsh_unresolved": "slope at short circuit not resolved (dJ/dV >= 0, shunt resistance "
                      "very large or noise): rsh_ohm_cm2 is NaN",
    "bad_irradiance": "irradiance not positive: pce_pct is NaN",
}


def _warning_texts(
    flags: dict[str, NDArray[np.bool_]],
    n_curves: int,
    noise_ma_cm2: NDArray[np.float64],
    j_photo: NDArray[np.float64],
) -> list[list[str]]:
    """Per-curve warning lists, in the order of ``flags`` (loops over flagged curves only)."""
    warnings: list[list[str]] = [[] for _ in range(n_curves)]
    for name, flag in flags.items():
        for row in np.flatnonzero(flag):
            if name in ("dark", "dark_no_v0"):
                where = "at V = 0" if name == "dark" else "at the lowest voltage"
                warnings[row].append(
                    f"no photocurrent above the noise (J {where} is {j_photo[row]:.3g} mA/cm2, "
                    f"noise {noise_ma_cm2[row]:.2g} mA/cm2): dark curve? voc_v, ff, pce_pct, "
                    "vmpp_v, jmpp_ma_cm2, pmax_mw_cm2 and rs_ohm_cm2 are NaN"
                )
            else:
                warnings[row].append(_WARNING_TEXTS[name])
    return warnings
