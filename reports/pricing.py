"""Energy from toggles: the per-family coefficients (each with its source) and the price of
a measured activity record, per inference, per synapse, per event op, by class and block."""

import os

from sim.params import ParamError
from sim.validate import load_json, number

from .activity import BLOCKS, MEMORY_CLASSES

HERE = os.path.dirname(os.path.abspath(__file__))


def load_coefficients(family, path=None):
    """A family's coefficients (or those in `path`): every value a finite number >= 0, and a
    per-toggle price for `other` at least, so no resource class is priced at 0 pJ unnoticed."""
    path = path or os.path.join(HERE, "coefficients", f"{family}.json")
    data = load_json("coefficients", path)
    try:
        if not isinstance(data, dict) or not isinstance(data.get("per_toggle"), dict):
            raise ValueError('the top level must be an object with "per_toggle", "clock_per_cycle" and "bram_per_read"')
        if "other" not in data["per_toggle"]:
            raise ValueError('per_toggle has no "other" entry, the price of any class it does not name')
        per_toggle = {k: _value(f"per_toggle.{k}", v) for k, v in data["per_toggle"].items()}
        clock, bram = _value("clock_per_cycle", data["clock_per_cycle"]), _value("bram_per_read", data["bram_per_read"])
    except (ValueError, KeyError, TypeError) as e:
        raise ParamError("coefficients", path, text="{name} {value}: not a coefficient file ({why}); "
                         "see reports/coefficients/ice40.json", why=repr(e)) from None
    if min([clock, bram, *per_toggle.values()]) < 0:
        raise ParamError("coefficients", path, text="{name} {value}: a coefficient is negative")
    return {"per_toggle": per_toggle, "clock": clock, "bram": bram, "path": os.path.relpath(path)}


def _value(what, entry):
    if not isinstance(entry, dict) or "value" not in entry:
        raise ValueError(f'{what} must be an object with a "value"')
    return number(f"{what}.value", entry["value"])


def energy(counts, coeffs):
    """pJ by resource class (plus clock and BRAM reads) and by block, for one run."""
    cycles = counts["clock_cycles"]
    per_toggle = lambda cls: coeffs["per_toggle"].get(cls, coeffs["per_toggle"].get("other", 0.0))
    by_class = {cls: t * per_toggle(cls) for cls, t in counts["toggles"].items() if cls not in MEMORY_CLASSES}
    by_class["bram reads"] = counts["bram_read_fraction"] * cycles * coeffs["bram"]
    by_class["clock"] = cycles * coeffs["clock"]
    by_block = {b: 0.0 for b in BLOCKS}
    for key, t in counts["by_block"].items():
        block, cls = key.split("|")
        if cls not in MEMORY_CLASSES:
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
