"""boards.host: the client end to end against the simulated board, bit-exact with the twin."""

import numpy as np
import pytest

from boards import host
from sim.stimulus import spike_train


@pytest.mark.parametrize("argv", [
    ["--n-in", "12", "--n-out", "4", "--S", "2", "--T", "3", "--count", "4", "--spike-rate", "0.3"],
    ["--n-in", "9", "--n-out", "6", "--lanes", "2", "--W", "1", "--S", "1", "--T", "4", "--count", "3",
     "--spike-rate", "0.6", "--threshold", "2"],
])
def test_simulated_board_is_bit_exact(argv, capsys):
    assert host.main(["--sim"] + argv) == 0
    out = capsys.readouterr().out
    assert " 0 mismatched beats vs the twin" in out and "beats/s" in out


def test_inputs_from_a_file_and_extreme_levels(tmp_path, capsys):
    spikes = np.concatenate([np.zeros((1, 2, 10), np.uint8), np.full((1, 2, 10), 3, np.uint8),
                             spike_train(5, (2, 2, 10), 2, 0.5)])
    path = tmp_path / "spikes.npy"
    np.save(path, spikes)
    assert host.main(["--sim", "--n-in", "10", "--n-out", "3", "--S", "2", "--T", "2", "--inputs", str(path)]) == 0
    assert "8 beats (4 inferences)" in capsys.readouterr().out


def test_a_board_with_other_weights_is_refused(monkeypatch, capsys):
    real = host.open_port
    monkeypatch.setattr(host, "open_port", lambda args, p, w: real(args, p, w + (w < p.w_max)))
    assert host.main(["--sim", "--n-in", "6", "--n-out", "2"]) == 2
    assert "rebuild with boards.flash" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--sim", "--threshold", "0"], "--threshold 0"),
    (["--sim", "--spike-rate", "2"], "--spike-rate"),
    (["--port", "/dev/nonexistent-tty"], "cannot open"),
])
def test_usage_errors_exit_2(argv, words, capsys):
    assert host.main(argv) == 2
    assert words in capsys.readouterr().err


def test_a_beat_longer_than_255_bytes_is_carried(capsys):
    """512 inputs x 4 bits = 256 bytes per beat: more than an 8-bit length field holds."""
    assert host.main(["--sim", "--n-in", "512", "--S", "4", "--T", "1", "--n-out", "2", "--count", "1"]) == 0
    assert " 0 mismatched beats vs the twin" in capsys.readouterr().out


def test_a_frame_lost_on_the_wire_is_sent_again(monkeypatch, capsys):
    real = host.open_port

    def noisy(args, p, w):
        port = real(args, p, w)
        port.corrupt = 1            # the first request's code byte gets a 0 stop bit: a framing error
        return port
    monkeypatch.setattr(host, "open_port", noisy)
    assert host.main(["--sim", "--n-in", "6", "--n-out", "2", "--count", "1"]) == 0
    out = capsys.readouterr().out
    assert " 0 mismatched beats vs the twin" in out and "; 1 retries" in out


@pytest.fixture(scope="module")
def digits_network(tmp_path_factory):
    """A small digits network (64-16-10, 8/1/2, 20 epochs) with its network file, as
    `sim.network` writes it (the data set recorded)."""
    from sim.netfile import save_json
    from sim.network import train_on
    net, counts, record = train_on("digits", 8, 1, 2, hidden=16, epochs=20)
    path = tmp_path_factory.mktemp("net") / "digits.json"
    save_json(net, 1, 2, str(path), record)
    return net, counts, path


@pytest.mark.parametrize("memory", ["bram", "spram"])
def test_a_network_classifies_its_held_out_images_on_the_simulated_board(digits_network, memory, capsys):
    """`--network`: the chain's board (with `--weight-memory spram` its first layer's weights
    loaded over the link first) on the first held-out images, every output beat checked
    against the twin network; the output neurons fire at mid-range levels (the guard), and
    the classes printed are counted here from the twin and the labels."""
    from sim.datasets import DATASETS, SPLIT_SEED
    from sim.evidence import require_evidence
    from sim.network import encode_spikes, predict
    net, counts, path = digits_network
    levels = net.snn(encode_spikes(counts[:6], 2), 1)[0][-1]
    require_evidence(levels, 1, "digits network outputs")
    right = int((predict(levels.sum(axis=-2)) == DATASETS["digits"].load(SPLIT_SEED)[3][:6]).sum())
    assert host.main(["--sim", "--network", str(path), "--count", "6", "--max-lanes", "4", "2",
                      "--weight-memory", memory]) == 0
    out = capsys.readouterr().out
    assert f"12 beats (6 images) through simulated board: 0 mismatched beats vs the twin network; {right}/6 " \
           "classified right, 6/6 as the twin" in out
    assert ("weights loaded and verified" in out) == (memory == "spram")


@pytest.mark.parametrize("argv, words", [
    (["--n-in", "10"], "sets the layers, weights and thresholds: drop --n-in"),
    (["--sim-bitstream"], "cannot run with --sim-bitstream"),
    (["--max-lanes", "4", "2", "1"], "--max-lanes 4 2 1 is out of range"),
    (["--count", "0"], "--count 0"),
    (["--count", "450"], "--count 450 is out of range: legal is 1..449 (the held-out images)"),
    (["--retries", "-1"], "--retries -1"),
    (["--sim-divisor", "1"], "--sim-divisor 1"),
    (["--inputs", "x.npy", "--count", "3"], "--count takes the first held-out images: with --inputs, drop it"),
])
def test_network_usage_errors_exit_2(digits_network, argv, words, capsys):
    argv = argv if "--sim-bitstream" in argv else ["--sim"] + argv
    assert host.main(argv + ["--network", str(digits_network[2])]) == 2
    assert words in capsys.readouterr().err


def test_a_network_file_without_its_data_set_needs_inputs(tmp_path, capsys):
    layers = '"layers": [{"weights": [[1, -2, 3]], "threshold": 2}]'
    for dataset in ("", ', "dataset": "digits"', ', "dataset": {"name": "cifar"}'):
        (tmp_path / "n.json").write_text('{"W": 4, "S": 1, "T": 2, ' + layers + dataset + '}')
        assert host.main(["--sim", "--network", str(tmp_path / "n.json")]) == 2
        assert "records no data set it was trained on (sim.network writes one): give --inputs" in capsys.readouterr().err
    (tmp_path / "n.json").write_text('{"W": 4, "S": 1, "T": 2, ' + layers + ', "dataset": {"name": "digits"}}')
    assert host.main(["--sim", "--network", str(tmp_path / "n.json")]) == 2
    assert "takes 3 inputs, and its data set digits has 64 pixels: give --inputs" in capsys.readouterr().err
    assert host.main(["--sim", "--max-lanes", "2"]) == 2
    assert "--max-lanes only with --network" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.array([[[1, 0, 1], [1, 1, 1]], [[0, 0, 0], [1, 1, 1]]]))
    assert host.main(["--sim", "--network", str(tmp_path / "n.json"), "--inputs", str(tmp_path / "x.npy")]) == 0
    assert "4 beats (2 images) through simulated board: 0 mismatched beats vs the twin network; 2/2 as the twin" \
        in capsys.readouterr().out
