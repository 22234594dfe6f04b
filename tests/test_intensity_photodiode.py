"""The photodiode over 7 decades: dark current subtracted, NPLC raised at low light, readings
below the noise floor flagged; the attenuator refuses a wheel that did not move."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from instruments.attenuator import AttenuatorError
from labctl.testing import SimStation

LIGHT_PATH = ("smu", "shutter", "wheel_a", "wheel_b", "ref_smu", "photodiode")


@pytest.fixture
def sim(example_station: Callable[..., Path], labsim_station: Callable[..., SimStation]
        ) -> SimStation:
    path = example_station(keep=LIGHT_PATH)
    data = yaml.safe_load(path.read_text())
    data["simulation"]["noise"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return labsim_station(path)


def test_seven_decades_are_read_dark_corrected_and_low_light_at_high_nplc(sim: SimStation
                                                                          ) -> None:
    roles = sim.roles()
    sensor, attenuator = roles.irradiance_sensor, roles.attenuator
    roles.shutter.close()
    dark_a = sensor.measure_dark()
    assert dark_a == pytest.approx(-1e-9, rel=0.05)  # the simulated diode's 1 nA, SMU sign
    roles.shutter.open()
    for od, nplc in ((0.0, 1.0), (3.0, 1.0), (7.0, 10.0)):
        attenuator.set_od(od)
        reading = sensor.reading()
        truth_mw_cm2 = sim.truth.irradiance_mw_cm2()
        assert reading.irradiance_mw_cm2 == pytest.approx(truth_mw_cm2, rel=0.02)
        assert reading.nplc == nplc
        assert not reading.below_noise_floor
    # at OD 7 the photocurrent (0.6 nA) is below the dark current: without the subtraction
    # the irradiance would be off by more than 100 %
    assert abs(reading.current_a) > 2 * abs(reading.photocurrent_a)
    roles.shutter.close()
    assert sensor.reading().below_noise_floor


def test_a_stuck_wheel_is_refused_with_its_name(sim: SimStation) -> None:
    roles = sim.roles()
    attenuator = roles.attenuator
    attenuator.verify_moves = True
    sim.faults.inject("wheel_b", "wheel_stuck")
    with pytest.raises(AttenuatorError) as caught:
        attenuator.set_od(2.0)  # wheel_b slot 3 (nominal OD 2)
    assert caught.value.wheel_index == 1 and "position 3" in str(caught.value)


def test_a_calibration_replaces_the_nominal_ods(sim: SimStation) -> None:
    attenuator = sim.roles().attenuator
    attenuator.apply_calibration([[0, 0.52, 0.97, 2.06, 2.94, 4.11],
                                  [0, 1.04, 1.95, 3.08, 3.89, 5.14]], {(2, 2): 1.5},
                                 label="cal.yaml (2026-12-01T10:00:00Z)")
    assert attenuator.set_od(1.5) == pytest.approx(1.5)
    assert attenuator.positions == (2, 2)
    assert attenuator.set_od(3.0) == pytest.approx(2.94)  # slot 5 of wheel_a, not 1 + 2
    assert attenuator.positions == (5, 1)
    assert "calibration cal.yaml" in attenuator.describe()
