"""Analyses over the energy model; each returns a result dict and writes JSON + Markdown + PNG."""

import io
import json
from dataclasses import replace

import numpy as np

from ..files import write_files
from .model import (HARDWARE, SOFTWARE, Scenario, breakeven_hops, breakeven_spike_rate, evaluate,
                    op_energy, s_ace)


def best_case_gamma(T, spike_rate):
    """The QNN sparsity whose best-case SNN spike rate is `spike_rate`: (1-gamma)/T = s_r,
    clipped to [0, 1] (a spike rate above 1/T pairs with a dense QNN)."""
    return min(1.0, max(0.0, 1.0 - T * spike_rate))


def breakeven(gamma=0.8, hardware="typical", Ts=range(1, 17), weight_bits=(4, 8), Ns=(64, 4096)):
    rows = []
    for wb in weight_bits:
        for N in Ns:
            for T in Ts:
                s = Scenario(T=T, spike_rate=0.0, gamma=gamma, N=N, hardware=HARDWARE[hardware],
                             ops=op_energy(wb))
                rate = breakeven_spike_rate(s)
                rows.append({"weight_bits": wb, "N": N, "T": T, "qnn_bits": s.B, "breakeven_spike_rate": rate})
    return {"analysis": "breakeven", "gamma": gamma, "hardware": hardware, "rows": rows}


def landscape(N=4096):
    rows = []
    for sw in SOFTWARE.values():
        for hw in HARDWARE.values():
            gamma = best_case_gamma(sw.T, sw.spike_rate)
            r = evaluate(Scenario(T=sw.T, spike_rate=sw.spike_rate, gamma=gamma, N=N, hardware=hw))
            rows.append({"software": sw.name, "hardware": hw.name, **{k: r[k] for k in
                         ("T", "spike_rate", "gamma", "qnn_bits", "snn_pj", "qnn_pj", "ratio")}})
    return {"analysis": "landscape", "N": N, "rows": rows}


def hops(T=4, spike_rate=0.10, N=4096, reuses=(1, 10, 100), hop_values=None):
    hop_values = np.logspace(-2, 2, 41) if hop_values is None else hop_values
    gamma = best_case_gamma(T, spike_rate)
    curves = []
    for R in reuses:
        base = Scenario(T=T, spike_rate=spike_rate, gamma=gamma, N=N, reuse_qnn=R, reuse_snn=R)
        ratios = [evaluate(replace(base, hops=float(h)))["ratio"] for h in hop_values]
        curves.append({"reuse": R, "hops": list(map(float, hop_values)), "ratio": ratios,
                       "breakeven_hops": breakeven_hops(base)})
    return {"analysis": "hops", "T": T, "spike_rate": spike_rate, "gamma": gamma, "N": N, "curves": curves}


def reuse(T=4, spike_rate=0.10, N=4096, hops_=1.0, values=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)):
    gamma = best_case_gamma(T, spike_rate)
    base = Scenario(T=T, spike_rate=spike_rate, gamma=gamma, N=N, hops=hops_)
    grid = [[evaluate(replace(base, reuse_qnn=float(rq), reuse_snn=float(rs)))["ratio"] for rq in values]
            for rs in values]
    return {"analysis": "reuse", "T": T, "spike_rate": spike_rate, "gamma": gamma, "N": N, "hops": hops_,
            "reuse_values": list(values), "ratio": grid, "rows_are": "reuse_snn", "columns_are": "reuse_qnn"}


def sace(layers):
    return {"analysis": "sace", **s_ace(layers)}


def _fmt(v):
    if v is None:
        return "none in [0,1]"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def markdown(result):
    a = result["analysis"]
    if a == "breakeven":
        cols = sorted({(r["weight_bits"], r["N"]) for r in result["rows"]})
        Ts = sorted({r["T"] for r in result["rows"]})
        at = {(r["weight_bits"], r["N"], r["T"]): r["breakeven_spike_rate"] for r in result["rows"]}
        head = "| T | B | " + " | ".join(f"{wb}-bit, N={N}" for wb, N in cols) + " |"
        lines = [f"Breakeven SNN spike rate (%) against a QNN of sparsity {result['gamma']}, "
                 f"{result['hardware']} hardware", "", head, "|" + "---|" * (len(cols) + 2)]
        for T in Ts:
            cells = [("-" if at[(wb, N, T)] is None else f"{100 * at[(wb, N, T)]:.2f}") for wb, N in cols]
            lines.append(f"| {T} | {T.bit_length()} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    if a == "landscape":
        hws = list(HARDWARE)
        lines = [f"SNN/QNN energy ratio, N={result['N']} (QNN sparsity from the best-case bound)", "",
                 "| software (T, s_r) | " + " | ".join(hws) + " |", "|---|" + "---|" * len(hws)]
        for sw in SOFTWARE.values():
            cells = [f"{r['ratio']:.4f}" for r in result["rows"] if r["software"] == sw.name]
            lines.append(f"| {sw.name} ({sw.T}, {sw.spike_rate:.0%}) | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    if a == "hops":
        lines = [f"Breakeven hop count (T={result['T']}, s_r={result['spike_rate']}, gamma={result['gamma']:.2f})",
                 "", "| reuse R_QNN = R_SNN | breakeven h |", "|---|---|"]
        lines += [f"| {c['reuse']} | {_fmt(c['breakeven_hops'])} |" for c in result["curves"]]
        return "\n".join(lines) + "\n"
    if a == "reuse":
        v = result["reuse_values"]
        lines = [f"SNN/QNN ratio, rows R_SNN, columns R_QNN (h={result['hops']})", "",
                 "| R_SNN \\ R_QNN | " + " | ".join(map(str, v)) + " |", "|---|" + "---|" * len(v)]
        lines += [f"| {rs} | " + " | ".join(f"{x:.3f}" for x in row) + " |" for rs, row in zip(v, result["ratio"])]
        return "\n".join(lines) + "\n"
    lines = ["| layer | MACs | W | S | T | BB | rate | S-ACE | NS-ACE |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {i} | {r['macs']} | {r['W']} | {r['S']} | {r['T']} | {r['BB']} | {r['rate']} | "
              f"{r['S_ACE']:.4g} | {r['NS_ACE']:.4g} |" for i, r in enumerate(result["layers"])]
    lines.append(f"| total | | | | | | | {result['S_ACE']:.4g} | {result['NS_ACE']:.4g} |")
    return "\n".join(lines) + "\n"


def plot(result):
    """The analysis's figure as PNG bytes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    a = result["analysis"]
    if a == "breakeven":
        for wb, N in sorted({(r["weight_bits"], r["N"]) for r in result["rows"]}):
            rows = [r for r in result["rows"] if (r["weight_bits"], r["N"]) == (wb, N)]
            ax.plot([r["T"] for r in rows], [100 * (r["breakeven_spike_rate"] or np.nan) for r in rows],
                    marker="o", label=f"{wb}-bit weights, N={N}")
        ax.set(xlabel="timesteps T", ylabel="breakeven spike rate (%)", yscale="log",
               title=f"SNN = QNN energy, QNN sparsity {result['gamma']}")
        ax.legend()
    elif a == "landscape":
        grid = np.array([[r["ratio"] for r in result["rows"] if r["software"] == sw] for sw in SOFTWARE])
        im = ax.imshow(np.log10(grid), cmap="coolwarm", vmin=-2, vmax=2)
        ax.set_xticks(range(len(HARDWARE)), list(HARDWARE))
        ax.set_yticks(range(len(SOFTWARE)), list(SOFTWARE))
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center")
        fig.colorbar(im, label="log10 SNN/QNN energy")
        ax.set_title("SNN/QNN energy ratio")
    elif a == "hops":
        for c in result["curves"]:
            ax.plot(c["hops"], c["ratio"], label=f"R = {c['reuse']}")
        ax.axhline(1, color="k", lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="hops h", ylabel="SNN/QNN energy", title="ratio vs hops")
        ax.legend()
    elif a == "reuse":
        im = ax.imshow(np.log10(np.array(result["ratio"])), cmap="coolwarm", vmin=-1, vmax=1, origin="lower")
        v = result["reuse_values"]
        ax.set_xticks(range(len(v)), v)
        ax.set_yticks(range(len(v)), v)
        ax.set(xlabel="R_QNN", ylabel="R_SNN", title=f"log10 SNN/QNN energy, h={result['hops']}")
        fig.colorbar(im)
    else:
        rows = result["layers"]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["S_ACE"] for r in rows], 0.4, label="S-ACE")
        ax.bar(x + 0.2, [r["NS_ACE"] for r in rows], 0.4, label="NS-ACE")
        ax.set(xlabel="layer", ylabel="bit operations", yscale="log", title="S-ACE and NS-ACE per layer")
        ax.legend()
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=120)
    plt.close(fig)
    return png.getvalue()


def write(result, out):
    """Write <analysis>.json, .md and .png under `out`, all or none (the figure is drawn
    before anything is written); returns the three paths."""
    a = result["analysis"]
    files = {f"{a}.json": json.dumps(result, indent=2), f"{a}.md": markdown(result), f"{a}.png": plot(result)}
    return write_files("out", out, files)
