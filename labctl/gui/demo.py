"""The README's picture: a J-V run on the simulated station, queued from the form as a user
queues it, the window saved once it is done::

    python -m labctl.gui.demo docs/gui.png [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from labctl.gui.app import run_gui

ROOT = Path(__file__).resolve().parents[2]
STATION = ROOT / "configs" / "stations" / "simulated.yaml"


def queue_jv(window: Any, sample_id: str = "QD-2026-11-21-A", area_cm2: float = 0.09) -> Any:
    """Fill in the sample and queue a J-V in both directions with the form's defaults."""
    window.procedure.setCurrentIndex(window.procedure.findData("jv"))
    window.sample_form.set_value("id", sample_id)
    window.sample_form.set_value("area_cm2", f"{area_cm2:g}")
    return window.queue_step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    return run_gui(STATION, simulated=True, screenshot=args.png, out_dir=args.out,
                   prepare=queue_jv)


if __name__ == "__main__":
    sys.exit(main())
