"""Analytical SNN vs QNN energy model (first paper) and S-ACE / NS-ACE (second paper)."""

from .model import (HARDWARE, SOFTWARE, Hardware, OpEnergy, Scenario, Software, battery_hours,
                    breakeven_hops, breakeven_spike_rate, calibrated, evaluate, load_calibration, op_energy, qnn_bits,
                    s_ace, spike_rate_bounds)

__all__ = ["HARDWARE", "SOFTWARE", "Hardware", "OpEnergy", "Scenario", "Software", "battery_hours",
           "breakeven_hops", "breakeven_spike_rate", "calibrated", "evaluate", "load_calibration", "op_energy",
           "qnn_bits", "s_ace", "spike_rate_bounds"]
