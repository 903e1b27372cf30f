"""The first paper's analytical energy model (SPEC section 5): one output neuron of fan-in N,
an SNN of T steps and spike rate s_r against its twin QNN of B = ceil(log2(T+1)) bits and
sparsity gamma. Energies in pJ."""

import math
from dataclasses import dataclass, field, replace

from ..params import ParamError
from ..validate import integer, load_json, number

# 22 nm, 8-bit weights (SPEC section 5).
E_MAC_8BIT = {1: 0.0809, 2: 0.0883, 3: 0.1018, 4: 0.1171}
E_OP_8BIT = 0.05448  # one accumulate, compare or subtract


@dataclass(frozen=True)
class OpEnergy:
    """Per-operation energies in pJ.

    `E_MAC` is tabulated per activation width B; past the table it grows linearly
    with the slope of its last two entries (0.0153 pJ per bit for the 8-bit defaults),
    since an array multiplier's switched area grows linearly in one operand's width.
    """
    E_ACC: float = E_OP_8BIT
    E_cmp: float = E_OP_8BIT
    E_sub: float = E_OP_8BIT
    E_w: float = 0.31
    E_MAC: dict = field(default_factory=lambda: dict(E_MAC_8BIT))
    source: str = "SPEC section 5: 22 nm, 8-bit weights"

    def mac(self, B):
        table = {int(k): v for k, v in self.E_MAC.items()}
        if B in table:
            return table[B]
        top = max(table)
        if B < min(table):
            raise ValueError(f"no E_MAC for B={B}: the table starts at B={min(table)}")
        slope = table[top] - table[top - 1] if top - 1 in table else 0.0
        return table[top] + (B - top) * slope

    def check(self):
        for name in ("E_ACC", "E_cmp", "E_sub", "E_w"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise ValueError(f"{name} = {v} is not a finite number: energies must be finite and >= 0")
            if v < 0:
                raise ValueError(f"{name} = {v} is negative: energies must be >= 0")
        if not all(math.isfinite(v) for v in self.E_MAC.values()):
            raise ValueError("E_MAC has an entry that is not a finite number: energies must be finite and >= 0")
        if any(v < 0 for v in self.E_MAC.values()):
            raise ValueError("E_MAC has a negative entry: energies must be >= 0")
        return self


def op_energy(weight_bits=8):
    """Defaults for 8-bit weights, and the documented 4-bit assumption: a W x B array
    multiplier and a W-bit weight read scale with W, so E_MAC and E_w halve; the
    accumulate, compare and subtract work on the (wide) membrane and stay as they are."""
    if weight_bits == 8:
        return OpEnergy()
    if weight_bits == 4:
        return OpEnergy(E_w=0.31 / 2, E_MAC={b: e / 2 for b, e in E_MAC_8BIT.items()},
                        source="assumed: 8-bit values with E_MAC and E_w scaled by 4/8")
    raise ParamError("weight_bits", weight_bits, "8 or 4", "{name} {value}: legal is {legal}")


def load_calibration(path, base=None):
    """Per-op energies from a JSON file ({"E_ACC": .., "E_MAC": {"1": ..}, ...}) over `base`:
    `calibrated`."""
    return calibrated(load_json("calibration", path), base, path)


def calibrated(data, base=None, path="(in memory)"):
    """Per-op energies from calibration data over `base`. Each energy must be a finite
    number >= 0 (NaN, Infinity, strings, null refused), E_MAC an object keyed by activation
    bits >= 1; ParamError names the file `path` and the key."""
    base = base or OpEnergy()
    try:
        if not isinstance(data, dict):
            raise ValueError(f"the top level is a {type(data).__name__}: legal is an object of per-op energies")
        known = {"E_ACC", "E_cmp", "E_sub", "E_w", "E_MAC", "source"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; legal: {sorted(known)}")
        fields = {k: number(k, v) for k, v in data.items() if k not in ("E_MAC", "source")}
        if "E_MAC" in data:
            table = data["E_MAC"]
            if not isinstance(table, dict) or not table:
                raise ValueError("E_MAC must be a non-empty object {bits: energy}")
            for k in table:
                if not (k.isdigit() and int(k) >= 1):
                    raise ValueError(f"E_MAC key {k!r}: legal is activation bits, an integer >= 1")
            fields["E_MAC"] = {int(k): number(f"E_MAC[{k}]", v) for k, v in table.items()}
        source = data.get("source", f"calibration {path}")
        if not isinstance(source, str):
            raise ValueError(f"source is {source!r}: legal is a string")
    except ValueError as e:
        raise ParamError("calibration", path, text="{name} {value}: {why}", why=e) from None
    return replace(base, source=source, **fields).check()


@dataclass(frozen=True)
class Hardware:
    """Activation-movement energy per bit per hop (pJ)."""
    name: str
    E_sparse: float
    E_dense: float


HARDWARE = {
    "minimum": Hardware("minimum", 0.0, 0.0),      # theoretical minimum
    "typical": Hardware("typical", 3.0, 0.25),     # typical neuromorphic
    "worst": Hardware("worst", 1300.0, 20.3125),   # worst-case sparse
}


@dataclass(frozen=True)
class Software:
    name: str
    T: int
    spike_rate: float


SOFTWARE = {
    "efficient": Software("efficient", 2, 0.02),
    "typical": Software("typical", 4, 0.10),
    "high-performance": Software("high-performance", 32, 0.20),
}


def qnn_bits(T):
    """B = ceil(log2(T + 1)), the S = 1 twin precision."""
    return T.bit_length()


def spike_rate_bounds(gamma, T):
    """SNN spike rates matching a QNN of sparsity gamma: best, average, worst."""
    density = 1 - gamma
    return {"best": density / T, "average": density * (T + 1) / (2 * T), "worst": density}


@dataclass(frozen=True)
class Scenario:
    T: int
    spike_rate: float
    gamma: float
    N: int = 4096
    hardware: Hardware = HARDWARE["typical"]
    hops: float = 1.0
    reuse_qnn: float = 1.0
    reuse_snn: float = 1.0
    transmission: str = "timestep"          # or "aggregated"
    ops: OpEnergy = field(default_factory=OpEnergy)

    def __post_init__(self):
        if not (isinstance(self.T, int) and self.T >= 1):
            raise ParamError("T", self.T, "an integer >= 1")
        for name in ("spike_rate", "gamma"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ParamError(name, v, "0..1")
        for name in ("N", "hops", "reuse_qnn", "reuse_snn"):
            v = getattr(self, name)
            bad, legal = (not v >= 0, ">= 0") if name == "hops" else (not v > 0, "> 0")
            if bad or not math.isfinite(v):      # NaN fails every comparison; inf is no count
                raise ParamError(name, v, "a finite number " + legal)
        if self.transmission not in ("timestep", "aggregated"):
            raise ParamError("transmission", self.transmission, "timestep or aggregated", "{name} {value}: legal is {legal}")
        if self.hardware.E_sparse < 0 or self.hardware.E_dense < 0:
            raise ValueError("hardware energies must be >= 0")
        self.ops.check()

    @property
    def B(self):
        return qnn_bits(self.T)


def _movement(active, total, word_bits, E_w_per_read, s):
    """min(sparse, dense) movement: sparse moves `active` words, dense all `total`."""
    h, hw = s.hops, s.hardware
    sparse = active * (E_w_per_read + word_bits * h * hw.E_sparse)
    dense = total * (E_w_per_read + word_bits * h * hw.E_dense)
    return (sparse, "sparse") if sparse <= dense else (dense, "dense")


def evaluate(s):
    """Every term of the model for one scenario, as a dict (the CLI's --json object)."""
    o, N, T, B = s.ops, s.N, s.T, s.B
    qnn_comp = (1 - s.gamma) * N * o.mac(B) + 2 * o.E_cmp
    snn_comp = T * s.spike_rate * N * o.E_ACC + T * o.E_cmp + T * s.spike_rate * o.E_sub
    qnn_mov, qnn_mode = _movement((1 - s.gamma) * N, N, B, o.E_w / s.reuse_qnn, s)
    if s.transmission == "aggregated":  # counts sent as B-bit words: the QNN form
        snn_mov, snn_mode = _movement((1 - s.gamma) * N, N, B, o.E_w / s.reuse_snn, s)
    else:
        snn_mov, snn_mode = _movement(T * s.spike_rate * N, T * N, 1, o.E_w / s.reuse_snn, s)
    snn, qnn = snn_comp + snn_mov, qnn_comp + qnn_mov
    return {
        "T": T, "spike_rate": s.spike_rate, "gamma": s.gamma, "N": N, "hardware": s.hardware.name,
        "hops": s.hops, "reuse_qnn": s.reuse_qnn, "reuse_snn": s.reuse_snn,
        "transmission": s.transmission, "qnn_bits": B,
        "snn_pj": snn, "qnn_pj": qnn, "ratio": snn / qnn if qnn else math.inf,
        "snn_comp_pj": snn_comp, "snn_mov_pj": snn_mov, "qnn_comp_pj": qnn_comp, "qnn_mov_pj": qnn_mov,
        "snn_mode": snn_mode, "qnn_mode": qnn_mode,
        "snn_lifetime_h": battery_hours(snn), "qnn_lifetime_h": battery_hours(qnn),
        "energy_source": s.ops.source,
    }


def battery_hours(pj, battery_j=4000.0, inferences_per_s=1e8):
    """The smartwatch example: hours = battery / (E * inferences/s * 3600)."""
    return battery_j / (pj * 1e-12 * inferences_per_s * 3600) if pj > 0 else math.inf


def breakeven_spike_rate(s, tol=1e-10):
    """Spike rate at which SNN and QNN energies are equal (bisection: the SNN's energy
    rises with the spike rate, the QNN's does not depend on it). None if the SNN wins
    or loses at every rate in [0, 1]."""
    def gap(rate):
        r = evaluate(replace(s, spike_rate=rate))
        return r["snn_pj"] - r["qnn_pj"]
    lo, hi = 0.0, 1.0
    if gap(lo) > 0 or gap(hi) < 0:
        return None
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def breakeven_hops(s, hi=1e4, tol=1e-9):
    """Hop count at which the ratio crosses 1 (None if it does not within [0, hi])."""
    def gap(h):
        r = evaluate(replace(s, hops=h))
        return r["snn_pj"] - r["qnn_pj"]
    lo = 0.0
    if (gap(lo) > 0) == (gap(hi) > 0):
        return None
    rising = gap(hi) > 0
    while hi - lo > tol * max(1.0, hi):
        mid = (lo + hi) / 2
        if (gap(mid) > 0) == rising:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def s_ace(layers):
    """Second paper's bit-budget metrics for a network: each layer a dict with `macs`, `W`,
    `S`, `T` and `rate` (firing rate). S-ACE = MACs*W*S*T, NS-ACE = rate*S-ACE."""
    if not isinstance(layers, list):
        raise ValueError(f"layers are a {type(layers).__name__}: legal is a list of {{macs, W, S, T, rate}}")
    rows = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise ValueError(f"layer {i} is not an object {{macs, W, S, T, rate}}")
        missing = {"macs", "W", "S", "T", "rate"} - set(layer)
        if missing:
            raise ValueError(f"layer {i}: missing {sorted(missing)}")
        number(f"layer {i}: macs", layer["macs"], 0)
        W, S, T = (integer(f"layer {i}: {k}", layer[k], 1) for k in ("W", "S", "T"))
        number(f"layer {i}: rate", layer["rate"], 0, 1)
        macs, rate = layer["macs"], layer["rate"]
        sace = macs * W * S * T
        rows.append({**layer, "BB": W * S * T, "S_ACE": sace, "NS_ACE": rate * sace})
    return {"layers": rows, "S_ACE": sum(r["S_ACE"] for r in rows),
            "NS_ACE": sum(r["NS_ACE"] for r in rows)}
