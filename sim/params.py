"""Core parameters: the bit budget W*S*T, legal ranges and every derived width.

Pure Python and numpy: the gateware reads its widths from here, and so does the
golden model, so both agree on what "no legal input can overflow" means.
"""

from dataclasses import dataclass
from functools import partial
import numpy as np

# name -> (low, high), inclusive; SPEC section 1.
RANGES = {
    "W": (1, 16),
    "S": (1, 8),
    "T": (1, 64),
    "n_in": (1, 4096),
    "n_out": (1, 1024),
}


# Registers between the weight memory's read data and the adder: the weight row (both
# kinds) and, for the QNN, the product (so one pipeline stage holds one multiplier).
PIPELINE = {"snn": 1, "qnn": 2}


class ParamError(ValueError):
    """An illegal parameter value, one line: `name` (a parameter, e.g. `n_in`), the `value`
    given and what is `legal`. `text` words it: {name}, {value} and {legal} are those fields,
    extra keyword fields are inserted as given, and any other {parameter} is spelled like
    {name}. str() names the parameters as they are (`n_in 5000 is out of range: legal is an
    integer in 1..4096`); a command line renders them as its options (`render(option)`).
    `ParamError(message)` with one argument is a free-text message, rendered as is."""

    exit_status = 2     # a usage error on the command line

    def __init__(self, name, value=None, legal=None, text=None, **fields):
        if value is legal is text is None and not fields:
            name, text = None, name
        self.name, self.value, self.legal, self.fields = name, value, legal, fields
        self.text = text or "{name} {value} is out of range: legal is {legal}"
        super().__init__(self.render())

    def render(self, spell=str):
        """The message with each parameter name as `spell(name)`."""
        if self.name is None:
            return self.text
        return self.text.format_map(_Spelled(spell, self.fields, name=spell(self.name), value=self.value,
                                              legal=self.legal))

    def __str__(self):
        return self.render()

    def __reduce__(self):       # pickles through process pools with its fields
        return partial(type(self), **self.fields), (self.name, self.value, self.legal, self.text)


class _Spelled(dict):
    """Format fields; a name not among them is another parameter, spelled."""

    def __init__(self, spell, fields, **known):
        super().__init__(fields, **known)
        self.spell = spell

    def __missing__(self, key):
        return self.spell(key)


def signed_bits(lo, hi):
    """Width of the smallest two's complement type that holds every integer in [lo, hi]."""
    return max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length() if hi > 0 else 0) + 1


def check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ParamError(name, value, f"an integer in {lo}..{hi}", "{name} {value!r} is out of range: legal is {legal}")


def weight_range(W):
    """(lowest, highest) W-bit weight: two's complement, or -1/+1 for W = 1 (no zero)."""
    return (-1, 1) if W == 1 else (-(2 ** (W - 1)), 2 ** (W - 1) - 1)


@dataclass(frozen=True)
class CoreParams:
    W: int
    S: int
    T: int
    n_in: int = 64
    n_out: int = 16
    lanes: int | None = None  # neurons updated per cycle; None means all n_out
    early_fire: bool = False  # FIRE stops after its first step for a group with no membrane at threshold

    def __post_init__(self):
        for name, (lo, hi) in RANGES.items():
            check_int(name, getattr(self, name), lo, hi)
        if self.lanes is None:
            object.__setattr__(self, "lanes", self.n_out)
        check_int("lanes", self.lanes, 1, self.n_out)
        if self.n_out % self.lanes:
            divisors = [d for d in range(1, self.n_out + 1) if self.n_out % d == 0]
            raise ParamError("lanes", self.lanes, f"one of {divisors}",
                             "{name} {value} does not divide {n_out} {n}: legal is {legal}", n=self.n_out)
        if not isinstance(self.early_fire, bool):
            raise ParamError("early_fire", self.early_fire, "True or False",
                             "{name} {value!r} is not a flag: legal is {legal}")

    def as_dict(self):
        """The parameters by name; `early_fire` only when set, so that the default engine's
        module ids and cache keys are those of the engine before it had the option."""
        return {"W": self.W, "S": self.S, "T": self.T, "n_in": self.n_in, "n_out": self.n_out, "lanes": self.lanes,
                **({"early_fire": True} if self.early_fire else {})}

    # --- the bit budget and the twin precision (SPEC section 1) ---
    @property
    def BB(self):
        return self.W * self.S * self.T

    @property
    def K(self):
        """Largest spike level."""
        return 2 ** self.S - 1

    @property
    def L(self):
        """Largest spike count over one inference = largest QNN activation."""
        return self.T * self.K

    @property
    def B(self):
        """QNN activation bits, ceil(log2(L + 1))."""
        return self.L.bit_length()

    @property
    def groups(self):
        """Cycles needed to touch every neuron once (n_out / lanes)."""
        return self.n_out // self.lanes

    # --- weights ---
    @property
    def w_min(self):
        return weight_range(self.W)[0]

    @property
    def w_max(self):
        return weight_range(self.W)[1]

    def check_weights(self, weights):
        """Validate an (n_out, n_in) integer weight array; returns it as int64."""
        w = np.asarray(weights)
        if w.dtype.kind not in "iu":
            raise ParamError(f"weights have dtype {w.dtype}: legal is an integer array")
        if w.shape != (self.n_out, self.n_in):
            raise ParamError(f"weights have shape {w.shape}: legal is (n_out, n_in) = "
                             f"({self.n_out}, {self.n_in})")
        w = w.astype(np.int64)
        if self.W == 1:
            bad = (w != 1) & (w != -1)
            legal = "exactly -1 or +1 for W=1"
        else:
            bad = (w < self.w_min) | (w > self.w_max)
            legal = f"{self.w_min}..{self.w_max} for W={self.W}"
        if bad.any():
            o, j = np.argwhere(bad)[0]
            raise ParamError(f"weight [{o}][{j}] = {w[o, j]} is out of range: legal is {legal}")
        return w

    # --- widths that make overflow impossible ---
    @property
    def drive_range(self):
        """Bounds of one timestep's P_sum (and of any partial sum of it)."""
        return self.n_in * self.w_min * self.K, self.n_in * self.w_max * self.K

    @property
    def acc_width(self):
        """Membrane / QNN accumulator width.

        The membrane after t steps lies in [t*P_min, t*P_max]: a positive residual
        never exceeds the membrane it came from, and a negative one is kept as is.
        The QNN sum lies in [N*w_min*L, N*w_max*L], the same interval for t = T.
        """
        lo, hi = self.drive_range
        return signed_bits(self.T * lo, self.T * hi)

    @property
    def theta_width(self):
        """Threshold port width: at least W+S, and wide enough for any threshold that can
        ever be reached (a larger one behaves like T*P_max + 1: never fires)."""
        return max(self.W + self.S, (self.T * self.drive_range[1] + 1).bit_length())

    # --- timing (see gen/engine.py for the schedule) ---
    def overhead(self, kind):
        """Cycles of one beat besides the event and firing cycles: IDLE's handshake, the
        first INTEGRATE cycle (it only fills the event stage), the FIRE -> IDLE step, and
        one per pipeline register between the weight memory and the adder."""
        return 3 + PIPELINE[kind]

    def fire_cycles(self, firings, fired, steps):
        """Cycles of `firings` group firings of `steps` steps: with `early_fire`, a group with
        no membrane at or above the threshold takes one; `fired` (None: all of them) is how
        many had one."""
        fired = firings if fired is None or not self.early_fire else fired
        return fired * steps + (firings - fired)

    def snn_cycles(self, set_bits, steps=1, fired=None):
        """Cycles for `steps` SNN beats carrying `set_bits` set spike bits in total, `fired`
        of their group firings with a membrane at threshold (`fired_groups`; None: all, the
        most there can be)."""
        G = self.groups
        return G * set_bits + self.fire_cycles(G * steps, fired, self.S) + self.overhead("snn") * steps

    def qnn_cycles(self, nonzero, fired=None):
        """Cycles for one QNN beat with `nonzero` non-zero activations (`fired` as for the SNN)."""
        return self.groups * nonzero + self.fire_cycles(self.groups, fired, self.B) + self.overhead("qnn")

    def fired_groups(self, membranes, theta):
        """Per firing, how many neuron groups have a membrane at or above `theta` as it
        starts: `membranes` (..., n_out), neuron g*lanes + l in group g."""
        groups = np.asarray(membranes).reshape(*np.shape(membranes)[:-1], self.groups, self.lanes)
        return (groups >= theta).any(axis=-1).sum(axis=-1)

    def cycle_formulas(self):
        G, S, T, B = self.groups, self.S, self.T, self.B
        where = ("e: set spike bits in the beat (= non-zero inputs for S=1); E: e summed over "
                 "an inference; n: non-zero activations; input handshake to output handshake, "
                 "output ready held high")
        if not self.early_fire:
            return {"snn_beat": f"{G}*(e + {S}) + {self.overhead('snn')}",
                    "snn_inference": f"{G}*(E + {S * T}) + {self.overhead('snn') * T}",
                    "qnn_beat": f"{G}*(n + {B}) + {self.overhead('qnn')}", "where": where}
        return {"snn_beat": f"{G}*e + {S}*f + ({G} - f) + {self.overhead('snn')}",
                "snn_inference": f"{G}*E + {S}*F + ({G * T} - F) + {self.overhead('snn') * T}",
                "qnn_beat": f"{G}*n + {B}*f + ({G} - f) + {self.overhead('qnn')}",
                "where": where + ("; early fire: f is the number of the beat's neuron groups with a membrane at or "
                                  "above the threshold as FIRE starts (the others take one step), F that summed "
                                  f"over an inference; f <= {G}, and f = {G} gives the formula without early fire")}
