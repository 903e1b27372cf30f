"""Amaranth generators for bit-budget SNN (IF/ACC) and QNN (MAC) cores."""

from .qnn import QNNCore
from .snn import SNNCore

__all__ = ["SNNCore", "QNNCore"]
