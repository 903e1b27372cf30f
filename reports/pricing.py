"""Energy from toggles: the per-family coefficients (each with its source) and the price of
a measured activity record, per inference, per synapse, per event op, by class and block."""

import json
import os

from sim.params import ParamError

from .activity import BLOCKS

HERE = os.path.dirname(os.path.abspath(__file__))


def load_coefficients(family, path=None):
    path = path or os.path.join(HERE, "coefficients", f"{family}.json")
    try:
        with open(path) as f:
            data = json.load(f)
        per_toggle = {k: float(v["value"]) for k, v in data["per_toggle"].items()}
        clock, bram = float(data["clock_per_cycle"]["value"]), float(data["bram_per_read"]["value"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ParamError("coefficients", path, text="{name} {value}: not a coefficient file ({why}); "
                         "see reports/coefficients/ice40.json", why=repr(e))
    if min([clock, bram, *per_toggle.values()]) < 0:
        raise ParamError("coefficients", path, text="{name} {value}: a coefficient is negative")
    return {"per_toggle": per_toggle, "clock": clock, "bram": bram, "path": os.path.relpath(path)}


def energy(counts, coeffs):
    """pJ by resource class (plus clock and BRAM reads) and by block, for one run."""
    cycles = counts["clock_cycles"]
    per_toggle = lambda cls: coeffs["per_toggle"].get(cls, coeffs["per_toggle"].get("other", 0.0))
    by_class = {cls: t * per_toggle(cls) for cls, t in counts["toggles"].items() if cls != "bram"}
    by_class["bram reads"] = counts["bram_read_fraction"] * cycles * coeffs["bram"]
    by_class["clock"] = cycles * coeffs["clock"]
    by_block = {b: 0.0 for b in BLOCKS}
    for key, t in counts["by_block"].items():
        block, cls = key.split("|")
        if cls != "bram":
            by_block[block] += t * per_toggle(cls)
    by_block["weight memory"] += by_class["bram reads"]
    by_block["clock"] = by_class["clock"]
    return by_class, by_block


def price(record, coeffs):
    """The activity record with its energy: per inference, per synapse, per event op, by
    resource class and by block."""
    p, n = record["params"], record["inferences"]
    by_class, by_block = energy(record["counts"], coeffs)
    total = sum(by_class.values())
    per_inf = total / n
    return dict(record, coefficients=coeffs["path"], pj_per_inference=per_inf,
                pj_per_synapse=per_inf / (p["n_in"] * p["n_out"]),
                pj_per_event_op=total / (record["events"] * p["n_out"]) if record["events"] else None,
                pj_by_class={k: v / n for k, v in by_class.items()},
                pj_by_block={k: v / n for k, v in by_block.items()})
