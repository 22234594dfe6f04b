"""The ``simulation:`` block of a station file: the simulated devices, light and clock.

These validated models are what the simulated bench's physics uses (one definition of every
device parameter, with its unit, default and range).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from labctl.models import InstrumentName, StrictModel
from labctl.station.faults import FaultSpec
from labctl.yamlio import located_error

__all__ = [
    "MAX_AREA_CM2",
    "MAX_DURATION_H",
    "MAX_TEMPERATURE_K",
    "MIN_AREA_CM2",
    "MIN_TEMPERATURE_K",
    "Device",
    "LightSim",
    "NoiseSim",
    "PhotodiodeSim",
    "SimulationConfig",
    "SingleCarrierDevice",
    "SolarCellDevice",
]


#: Smallest and largest device area (cm²): a 100 µm × 100 µm microcell, a mini-module.
MIN_AREA_CM2, MAX_AREA_CM2 = 1e-4, 1000.0
#: Temperature range of a device or sensor (K): liquid helium to a hot stress test.
MIN_TEMPERATURE_K, MAX_TEMPERATURE_K = 4.0, 500.0
#: Longest duration of anything (h): 1e5 h is 11 years.
MAX_DURATION_H = 1e5


class _DeviceModel(StrictModel):
    """Base of the device models: validated once, then frozen (the physics reads them)."""

    model_config = ConfigDict(**StrictModel.model_config, frozen=True)


class SolarCellDevice(_DeviceModel):
    """A simulated solar cell: single-diode model with a mobile-ion transient and optional slow
    degradation (docs/simulation.md §1-3).

    This model is the one definition of the cell's parameters: :class:`labctl.sim.physics.
    SolarCell` reads them from it. Degradation: the light dose D [h at 1 sun] grows while lit;
    the burn-in loss relaxes toward ``burn_in_fraction`` with ``1 - exp(-dD/burn_in_tau_h)``;
    the part ``dark_recovery_fraction`` of it recovers in the dark with ``burn_in_tau_h``; Jph is
    scaled by ``1 - burn_in - loss_pct_per_1000h/100 * D/1000``; Rs grows by
    ``rs_growth_ohm_cm2_per_h * D`` and J0 by ``exp(j0_growth_per_h * D)``. All zero: no
    degradation.
    """

    kind: Literal["solar_cell"] = Field("solar_cell", description="Device type.")
    # Ranges: what a solar cell on a characterization bench can be. Wider values are typing
    # errors (1e300 for 3.0) that would give a meaningless run (a PCE of 3.5e-298).
    area_cm2: float = Field(
        0.09, ge=MIN_AREA_CM2, le=MAX_AREA_CM2,
        description="Device area that sets the delivered current (cm²), 1e-4…1000 (a "
        "100 µm × 100 µm microcell to a mini-module).",
    )
    jph_ma_cm2: float = Field(
        19.8, ge=0, le=100, description="Photocurrent density at 100 mW/cm² (mA/cm²), 0…100 "
        "(the Shockley-Queisser limit of any single junction at 1 sun is about 70)."
    )
    j0_ma_cm2: float = Field(
        1.0e-12, ge=1e-40, lt=1,
        description="Diode saturation current density (mA/cm²), 1e-40…<1 and below "
        "jph_ma_cm2 (else the cell has almost no open-circuit voltage).",
    )
    ideality: float = Field(1.5, ge=0.5, le=10, description="Diode ideality factor, 0.5…10.")
    # 1000 Ω·cm²: a 20 mA/cm² cell would lose 20 V across it; already at 100 Ω·cm² its fill
    # factor is near 0.25 (the J-V is a straight line), so larger values are no solar cell.
    rs_ohm_cm2: float = Field(
        3.0, ge=0, le=1000, description="Series resistance (Ω·cm²), 0…1000; 0 for none."
    )
    # 1 Ω·cm²: the shunt would carry Jph at 20 mV, a short circuit rather than a cell.
    rsh_ohm_cm2: float = Field(
        3000.0,
        ge=1,
        allow_inf_nan=True,
        description="Shunt resistance (Ω·cm²), ≥ 1; .inf for no shunt.",
    )
    temperature_k: float = Field(
        298.15, ge=MIN_TEMPERATURE_K, le=MAX_TEMPERATURE_K,
        description="Device temperature (K), 4…500 (liquid helium to well above any "
        "cell's operating or stress temperature).",
    )
    ion_tau_s: float = Field(
        5.0,
        ge=0,
        le=1e7,
        description="Mobile-ion relaxation time constant (s); 0 = the ions follow the voltage "
        "at once (no transient).",
    )
    ion_amplitude: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Mobile-ion (hysteresis) amplitude (1/V); 0 = no hysteresis. The PCE-based "
        "hysteresis index of a Voc-poled reverse-then-forward scan is about 0.5·ion_amplitude "
        "when each scan lasts 1-3 ion_tau_s, and falls in proportion for faster scans.",
    )
    burn_in_fraction: float = Field(
        0.0, ge=0, le=1, description="Fraction of the photocurrent lost in the burn-in under "
        "light (0-1)."
    )
    burn_in_tau_h: float = Field(
        100.0, gt=0, le=MAX_DURATION_H,
        description="Burn-in (and dark-recovery) time constant (h of 1-sun light), >0…1e5.",
    )
    loss_pct_per_1000h: float = Field(
        0.0, ge=0, le=100,
        description="Linear photocurrent loss (percent per 1000 h of 1-sun light).",
    )
    dark_recovery_fraction: float = Field(
        0.0, ge=0, le=1, description="Fraction of the burn-in that recovers in the dark (0-1)."
    )
    rs_growth_ohm_cm2_per_h: float = Field(
        0.0, ge=0, le=1000, description="Series-resistance growth (Ω·cm² per h of 1-sun light): "
        "Rs = rs_ohm_cm2 + rs_growth_ohm_cm2_per_h·D; lowers Vmpp by about Jmpp·ΔRs."
    )
    j0_growth_per_h: float = Field(
        0.0, ge=0, le=100, description="Relative growth rate of the diode saturation current "
        "(1/h of 1-sun light): J0 = j0_ma_cm2·exp(j0_growth_per_h·D); lowers Voc and Vmpp by "
        "about n·kT/q per e-fold."
    )

    @field_validator("rsh_ohm_cm2")
    @classmethod
    def _not_nan(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("must be a number ≥ 1 or .inf")
        return value

    @model_validator(mode="after")
    def _diode_below_photocurrent(self) -> Self:
        if self.jph_ma_cm2 > 0 and self.j0_ma_cm2 >= self.jph_ma_cm2:
            raise located_error(
                f"must be below jph_ma_cm2 ({self.jph_ma_cm2:g}): with J0 ≥ Jph the "
                "open-circuit voltage n·kT/q·ln(Jph/J0 + 1) is below 18 mV·n, no solar cell",
                ("j0_ma_cm2",),
            )
        return self


class SingleCarrierDevice(_DeviceModel):
    """A simulated single-carrier (electron- or hole-only) device for SCLC: ohmic, trap-filling
    at V_TFL = q·N_trap·L²/(2·ε0·εr), then Mott–Gurney (docs/simulation.md §4).

    The one definition of its parameters: :class:`labctl.sim.physics.SingleCarrierDevice`
    reads them from this model.
    """

    kind: Literal["single_carrier"] = Field("single_carrier", description="Device type.")
    area_cm2: float = Field(0.09, ge=MIN_AREA_CM2, le=MAX_AREA_CM2,
                            description="Device area (cm²), 1e-4…1000.")
    # 1 nm (a monolayer) to 1 cm (a bulk single crystal: SCLC is measured on mm crystals).
    thickness_nm: float = Field(
        500.0, ge=1, le=1e7, description="Active-layer thickness L (nm), 1…1e7."
    )
    eps_r: float = Field(30.0, ge=1, le=1e4,
                         description="Relative permittivity εr, 1 (vacuum)…1e4.")
    # 1e-12 (the slowest disordered organics) to 1e5 cm²/V·s (above any bulk semiconductor).
    mobility_cm2_vs: float = Field(
        1e-3, ge=1e-12, le=1e5, description="Carrier mobility (cm²/V·s), 1e-12…1e5."
    )
    # 1e22 cm⁻³ is about the density of atoms in a solid: no more traps than atoms.
    trap_density_cm3: float = Field(
        1e16, ge=0, le=1e22, description="Trap density N_trap (cm⁻³), 0…1e22; 0 for none."
    )
    conductivity_s_cm: float = Field(
        1e-9, ge=0, le=1e6, description="Ohmic conductivity at low bias (S/cm), 0…1e6 (a "
        "metal)."
    )
    temperature_k: float = Field(298.15, ge=MIN_TEMPERATURE_K, le=MAX_TEMPERATURE_K,
                                 description="Device temperature (K), 4…500.")
    # mobile ions (docs/simulation.md §4): 0 = none, the device as without the option
    ion_density_cm3: float = Field(
        0.0, ge=0, le=1e22, description="Mobile-ion density (cm⁻³), 0…1e22; 0 = no ions. Ions "
        "settled at a bias screen the traps: a DC sweep sees V_TFL lowered by up to "
        "q·n_ion·L²/(2·ε0·εr), short pulses from 0 V the true one.",
    )
    ion_tau_s: float = Field(
        1.0, ge=0, le=1e7, description="Mobile-ion relaxation time constant (s), 0…1e7; 0 = "
        "the ions follow the voltage at once.",
    )

    @model_validator(mode="after")
    def _conducts_when_trapped(self) -> Self:
        # the trap-filling rise of the model starts from the ohmic current at V_TFL
        if self.trap_density_cm3 > 0 and self.conductivity_s_cm == 0:
            raise located_error(
                "must be > 0 when trap_density_cm3 > 0 (the trap-filling rise starts from "
                "the ohmic current at V_TFL)",
                ("conductivity_s_cm",),
            )
        return self


class PhotodiodeSim(_DeviceModel):
    """What the simulation adds to a station's SMU-read photodiode (``smu_photodiode``), whose
    responsivity and area come from the station: ``I = R·E·A + I_dark - I0·(exp(V/Vt) - 1)``
    (docs/simulation.md §5)."""

    dark_current_a: float = Field(
        1e-9, ge=0, le=1e-3, description="Dark current, read at 0 V in the dark too (A), "
        "0…1e-3."
    )
    saturation_current_a: float = Field(
        1e-11, gt=0, le=1e-3, description="Diode saturation current I0, forward bias only "
        "(A), >0…1e-3."
    )
    temperature_k: float = Field(298.15, ge=MIN_TEMPERATURE_K, le=MAX_TEMPERATURE_K,
                                 description="Photodiode temperature (K), 4…500.")


class NoiseSim(_DeviceModel):
    """Measurement noise on the simulated SMU readings (docs/simulation.md §6).

    Gaussian, independent from reading to reading, with a standard deviation at 1 NPLC of

        sigma_I = sqrt((current_rel·|I|)² + (current_range_fraction·range_I)² + current_floor_a²)
        sigma_V = sqrt((voltage_rel·|V|)² + (voltage_range_fraction·range_V)² + voltage_floor_v²)

    divided by sqrt(NPLC) (white noise averaged over the integration time). The range is the
    SMU's fixed measurement range, or with auto range the lowest of its ranges that holds the
    reading. The current noise is on every current the SMU measures from the device (sourcing
    voltage); the voltage noise on every voltage it measures from it (sourcing current, or at
    current compliance). A programmed source value is read back exactly. Each SMU draws from
    its own generator seeded with (``seed``, its name), so a run is reproducible and a power
    cycle of the bench (its reset) starts the same sequence again.
    """

    seed: int = Field(0, ge=0, le=2**63 - 1,
                      description="Seed of the noise generators (same seed, same noise), "
                      "0…2⁶³−1.")
    current_rel: float = Field(
        2e-5, ge=0, le=0.1, description="Current noise at 1 NPLC as a fraction of the reading."
    )
    current_range_fraction: float = Field(
        1e-5, ge=0, le=0.1, description="Current noise floor at 1 NPLC as a fraction of the "
        "current range."
    )
    current_floor_a: float = Field(
        1e-12, ge=0, le=1e-3, description="Current noise floor at 1 NPLC on every range (A)."
    )
    voltage_rel: float = Field(
        1e-5, ge=0, le=0.1, description="Voltage noise at 1 NPLC as a fraction of the reading."
    )
    voltage_range_fraction: float = Field(
        5e-6, ge=0, le=0.1, description="Voltage noise floor at 1 NPLC as a fraction of the "
        "voltage range."
    )
    voltage_floor_v: float = Field(
        1e-6, ge=0, le=1.0, description="Voltage noise floor at 1 NPLC on every range (V)."
    )


def _noise_switch(value: Any) -> Any:
    """``noise: false`` is no noise, ``noise: true`` the default noise, a mapping its fields."""
    if value is False:
        return None
    if value is True:
        return {}
    return value


def _device_kind(value: Any) -> str | None:
    """Discriminator for :data:`Device`: ``kind``, defaulting to ``solar_cell``."""
    if isinstance(value, dict):
        kind = value.get("kind", "solar_cell")
        return kind if isinstance(kind, str) else str(kind)
    return getattr(value, "kind", None)


#: A simulated device under test, selected by ``kind`` (default ``solar_cell``).
Device = Annotated[
    Union[  # noqa: UP007 - tagged members need the Union form
        Annotated[SolarCellDevice, Tag("solar_cell")],
        Annotated[SingleCarrierDevice, Tag("single_carrier")],
    ],
    Discriminator(_device_kind),
]


class LightSim(StrictModel):
    """What the simulated light delivers to the device."""

    irradiance_mw_cm2: float = Field(
        100.0,
        ge=0,
        le=1000,
        description="Irradiance of an open, lit source at the device (mW/cm²), 0…1000 "
        "(10 suns).",
    )
    drift_pct_per_h: float = Field(
        0.0, ge=-100, le=100,
        description="Slow drift of the lamp output (percent per hour), −100…100.",
    )
    # an arc lamp settles in about 30 min (a time constant of 5-10 min); 2 h is generous
    warmup_tau_s: float = Field(
        300.0, ge=0, le=7200,
        description="Arc-lamp warm-up time constant after ignition (s), 0…7200.",
    )
    relative_start: float = Field(
        0.8, ge=0, le=1,
        description="Output just after ignition, relative to the warm value, 0…1.",
    )


class SimulationConfig(StrictModel):
    """The ``simulation:`` block: the simulated bench behind the station's instruments."""

    device: Device = Field(
        default_factory=SolarCellDevice,
        description="Device under test on the SMU named 'smu'.",
    )
    devices: dict[InstrumentName, Device] | None = Field(
        None,
        description="One device per SMU name (multi-channel stations); replaces 'device'.",
    )
    light: LightSim = Field(default_factory=LightSim, description="Simulated light source.")
    photodiode: PhotodiodeSim = Field(
        default_factory=PhotodiodeSim,
        description="Dark and diode currents of every SMU-read photodiode of the station.",
    )
    clock: Literal["virtual", "real"] = Field(
        "virtual", description="virtual: runs as fast as possible; real: waits in real time."
    )
    line_frequency_hz: Literal[50, 60] = Field(
        50, description="Mains frequency for NPLC integration times (Hz)."
    )
    pyvisa_sim: str | None = Field(
        None,
        description="Extra plain pyvisa-sim device file, relative to the station file "
        "(stored resolved to an absolute path).",
    )
    noise: Annotated[NoiseSim | None, BeforeValidator(_noise_switch)] = Field(
        None,
        description="Measurement noise on the SMU readings: false/absent for none (readings "
        "exact), true for the defaults, or a mapping of NoiseSim fields (seed, levels).",
    )
    faults: list[FaultSpec] = Field(default_factory=list, description="Injected faults.")

    @field_validator("pyvisa_sim")
    @classmethod
    def _pyvisa_sim_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        base = Path.cwd()
        context = info.context or {}
        if isinstance(context.get("file"), Path):
            base = context["file"].resolve().parent
        target = Path(value).expanduser()
        if not target.is_absolute():
            target = base / target
        if not target.is_file():
            raise ValueError(
                f"file not found: {target} (a pyvisa_sim path is relative to the station file)"
            )
        return str(target)

    @model_validator(mode="after")
    def _device_xor_devices(self) -> Self:
        if self.devices is not None and "device" in self.model_fields_set:
            raise located_error(
                "give either 'device' (the device on 'smu') or 'devices' (one per SMU), not both",
                ("devices",),
            )
        return self


