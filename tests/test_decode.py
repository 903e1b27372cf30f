"""boards.decode: the packed iCE40 image (as `boards.flash --build-only` writes it) decoded
back into a netlist and run against the real host client over its UART pins; every
output beat is compared with the twin, and a bitstream with one flipped block-RAM
(weight ROM) bit must be caught. Each test builds its own bitstream (~25-60 s) and
Verilator model (~40-90 s on 2 cores)."""

import os
import shutil

import numpy as np
import pytest

from boards import decode, host
from gen.weights import make_weights
from reports.flow import run_tool
from sim.beats import SNN
from sim.params import CoreParams
from sim.stimulus import spike_train

pytestmark = pytest.mark.skipif(shutil.which("icebox_vlog") is None,
                                reason="icebox_vlog not installed (apt install fpga-icestorm)")

W1 = CoreParams(1, 1, 2, 16, 4)
W1_THRESHOLD = 1


def w1_spikes():
    """One inference per input with only that input spiking, at the first step: with
    threshold 1 neuron o fires iff w[o][j] = +1, so the outputs read out every weight and
    any flipped weight bit shows; then 8 random inferences at a 50 % rate."""
    one_hot = np.zeros((W1.n_in, W1.T, W1.n_in), dtype=int)
    one_hot[np.arange(W1.n_in), 0, np.arange(W1.n_in)] = 1
    return np.concatenate([one_hot, spike_train(0, (8, W1.T, W1.n_in), W1.S, 0.5)])


def twin_fires(params, spikes, threshold):
    """Guard: the twin's output beats have firing neurons, so a match compares spikes."""
    weights, _ = make_weights(params, None, 0)
    levels, _ = SNN.decode(SNN.expected(weights, spikes, threshold, params.S, params.T), params.n_out,
                           params.S, params.T)
    return levels.any()


def flip_rom_bit(bitstream, workdir):
    """A copy of `bitstream` with the lowest set bit of the first non-zero block-RAM data
    line cleared (unpacked, edited in the .asc, packed again); returns its path."""
    os.makedirs(workdir)
    shutil.copyfile(bitstream, os.path.join(workdir, "image.bin"))
    run_tool(["yowasp-iceunpack", "image.bin", "image.asc"], workdir, "unpack.log")
    with open(os.path.join(workdir, "image.asc")) as f:
        lines = f.read().split("\n")
    in_ram = False
    for i, line in enumerate(lines):
        if line.startswith("."):
            in_ram = line.startswith(".ram_data")
        elif in_ram and int(line, 16):
            value = int(line, 16)
            lines[i] = format(value ^ (value & -value), f"0{len(line)}x")
            break
    else:
        pytest.fail("the image has no non-zero block-RAM data")
    with open(os.path.join(workdir, "mutant.asc"), "w") as f:
        f.write("\n".join(lines))
    run_tool(["yowasp-icepack", "mutant.asc", "mutant.bin"], workdir, "pack.log")
    return os.path.join(workdir, "mutant.bin")


def test_default_core_through_the_decoded_bitstream(tmp_path, capsys):
    # threshold 400 (about one standard deviation of a step's drive at 10 %): ~19 % of the
    # output levels are non-zero (the host's old default, n_in * w_max * K / 8 = 3048, fired none)
    assert host.main(["--sim-bitstream", "--board", "icebreaker", "--W", "8", "--S", "2", "--T", "2",
                      "--count", "8", "--threshold", "400", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "16 beats (8 inferences) through the decoded bitstream" in out and ": 0 mismatched beats" in out
    p = CoreParams(8, 2, 2)
    assert twin_fires(p, spike_train(0, (8, p.T, p.n_in), p.S, 0.1), 400)


def test_w1_core_bit_exact_and_a_flipped_rom_bit_is_caught(tmp_path):
    spikes = w1_spikes()
    beats = len(spikes) * W1.T
    assert twin_fires(W1, spikes, W1_THRESHOLD)
    report, bitstream = decode.run_board("icebreaker", W1, 0, spikes, W1_THRESHOLD, 4, str(tmp_path))
    assert report["beats"] == beats and report["mismatched_beats"] == 0

    mutant = flip_rom_bit(bitstream, str(tmp_path / "mutant"))
    pcf = os.path.join(os.path.dirname(bitstream), "top.pcf")
    with open(decode.decode(bitstream, pcf, str(tmp_path / "d"))) as f, \
            open(decode.decode(mutant, pcf, str(tmp_path / "d"))) as g:
        changed = [(a, b) for a, b in zip(f, g) if a != b]
    assert len(changed) == 1 and ".INIT_" in changed[0][0]     # the decoder read the flipped ROM bit
    weights, _ = make_weights(W1, None, 0)
    bad = decode.run(mutant, pcf, W1, weights, spikes, W1_THRESHOLD, 4, str(tmp_path / "decoded"))
    assert bad["beats"] == beats and bad["mismatched_beats"] > 0


def test_refusals(tmp_path, capsys):
    assert host.main(["--sim-bitstream", "--sim-divisor", "2", "--out", str(tmp_path)]) == 2
    assert "--sim-divisor 2" in capsys.readouterr().err
    assert host.main(["--sim-bitstream", "--board", "ulx3s", "--out", str(tmp_path)]) == 2
    assert "only iCE40 images" in capsys.readouterr().err
    assert not os.listdir(tmp_path)
