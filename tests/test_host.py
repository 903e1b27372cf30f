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
