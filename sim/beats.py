"""Stream beats of the two core kinds: the one place that turns twin inputs and outputs into
the integers a core's stream ports carry, and back.

A beat packs one field per input (or neuron), field j at [j*bits +: bits]: S-bit spike
levels for the SNN, one beat per timestep; B-bit activations for the QNN, one beat per
inference (B = bits of L = T*(2**S-1)). An SNN output beat has `last` above its fields,
set on t = T-1. The functions take widths (S, T), not CoreParams, so a chain of layers
(one input size, another output size) uses them as well as a single core.
"""

from dataclasses import dataclass

import numpy as np

from .stimulus import pack, unpack
from .twin import qnn_forward, snn_forward


@dataclass(frozen=True)
class Kind:
    name: str
    in_port: str            # the Verilog port prefix: <port>__valid / __ready / __payload
    out_port: str
    spiking: bool           # SNN: levels, a beat per timestep, `last` on the output

    def bits(self, S, T):
        """Field width per input and per neuron: S, or the QNN's B."""
        return S if self.spiking else (T * (2 ** S - 1)).bit_length()

    def in_bits(self, n_in, S, T):
        """Input payload bits per beat."""
        return n_in * self.bits(S, T)

    def inputs(self, spikes):
        """One spike train (N, T, n_in) as this kind's inputs: the levels themselves, or,
        for the QNN, the spike counts (the activation sparsity the spike rate implies)."""
        spikes = np.asarray(spikes)
        return spikes if self.spiking else spikes.astype(np.int64).sum(axis=1)

    def encode(self, fields, S, T):
        """Inputs or output levels (SNN (N, T, n), QNN (N, n)) -> one int per beat, no `last`."""
        fields = np.asarray(fields)
        return [int(w) for w in pack(fields.reshape(-1, fields.shape[-1]), self.bits(S, T))]

    def output_beats(self, levels, S, T):
        """Output levels -> output beats, the SNN's with `last` on each inference's final step."""
        beats = self.encode(levels, S, T)
        if not self.spiking:
            return beats
        last = 1 << (np.shape(levels)[-1] * S)
        return [b | last if i % T == T - 1 else b for i, b in enumerate(beats)]

    def expected(self, weights, inputs, theta, S, T):
        """The twin's output beats for `inputs` (this kind's, see `inputs`)."""
        if self.spiking:
            levels = snn_forward(weights, inputs, theta, S)
        else:
            levels = qnn_forward(weights, inputs, theta, T * (2 ** S - 1))
        return self.output_beats(levels, S, T)

    def decode(self, beats, n_out, S, T):
        """Output beats -> (levels (beats, n_out), the bits above the fields: the SNN's
        `last`, 0 for the QNN)."""
        bits = self.bits(S, T)
        mask = (1 << n_out * bits) - 1
        return unpack([int(b) & mask for b in beats], n_out, bits), np.array([int(b) >> n_out * bits for b in beats])

    def beat_cycles(self, params):
        """Worst-case cycles per beat (CoreParams' formulas with every input bit an event):
        SNN G*(n_in*S + S) + 4, QNN G*(n_in + B) + 5."""
        if self.spiking:
            return params.snn_cycles(params.n_in * params.S)
        return params.qnn_cycles(params.n_in)


SNN = Kind("snn", "spikes_in", "spikes_out", spiking=True)
QNN = Kind("qnn", "acts_in", "acts_out", spiking=False)
KINDS = {"snn": SNN, "qnn": QNN}


def timeout_cycles(beats, cycles_per_beat):
    """How long to wait for `beats` beats before calling a core hung: a bound, not an
    estimate (four times the worst case, for idle gaps and backpressure, plus slack)."""
    return 1000 + 4 * beats * cycles_per_beat
