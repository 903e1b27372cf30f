"""boards.flash: bitstreams for both boards from the yowasp toolchain; programming stops
with a clear message when no programmer (or board) is there."""

import os

import pytest

from boards import flash

SMALL = ["--W", "4", "--S", "1", "--T", "2", "--n-in", "8", "--n-out", "2"]


def assert_bitstream(path, board):
    """The device's own format: an iCE40 UP5K image (104090 bytes, the sync word 7EAA997E
    after the ff00 00ff header, Lattice TN1248) or an ECP5 .bit naming the part, then the
    preamble ffff bdb3 (Lattice TN-02039)."""
    with open(path, "rb") as f:
        data = f.read()
    if board == "icebreaker":
        assert len(data) == 104090 and data[:8] == bytes.fromhex("ff0000ff7eaa997e")
    else:
        assert data.startswith(b"\xff\x00Part: LFE5U-85F") and bytes.fromhex("ffffbdb3") in data[:64]


@pytest.mark.parametrize("board, ext", [("icebreaker", "bin"), ("ulx3s", "bit")])
def test_build_only_makes_a_bitstream(board, ext, tmp_path, capsys):
    assert flash.main(["--board", board, "--build-only", "--out", str(tmp_path)] + SMALL) == 0
    out = capsys.readouterr().out
    path = out.split("bitstream ")[1].split()[0]
    assert path.endswith(f"top.{ext}") and os.path.getsize(path) > 10_000
    assert_bitstream(path, board)
    assert "MHz (board clock" in out


def test_programming_without_a_programmer_says_what_is_missing(tmp_path, capsys, monkeypatch):
    # iceprog hidden from the lookup only: dropping its folder from PATH (/usr/bin once
    # fpga-icestorm is installed) would hide `sh`, which runs the build script
    import shutil
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "iceprog" else which(name, *a, **k))
    assert flash.main(["--board", "icebreaker", "--out", str(tmp_path)] + SMALL) == 2
    err = capsys.readouterr().err
    assert "iceprog not found" in err and "the bitstream is" in err and "Traceback" not in err


def test_bad_options_exit_2(capsys):
    assert flash.main(["--baud", "10"] + SMALL) == 2
    assert "--baud 10" in capsys.readouterr().err


def test_other_boards_by_module_and_class(tmp_path, capsys):
    assert flash.main(["--board", "amaranth_boards.ulx3s:ULX3S_45F_Platform", "--build-only",
                       "--out", str(tmp_path)] + SMALL) == 0
    assert "top.bit" in capsys.readouterr().out
    assert flash.main(["--board", "amaranth_boards.nope:Nope", "--build-only"] + SMALL) == 2
    assert "--board 'amaranth_boards.nope:Nope'" in capsys.readouterr().err
    assert flash.main(["--board", "amaranth_boards.icebreaker_bitsy:ICEBreakerBitsyPlatform", "--build-only",
                       "--out", str(tmp_path)] + SMALL) == 2
    assert "no `uart` resource" in capsys.readouterr().err


def test_network_file_builds_a_chain_bitstream(tmp_path, capsys):
    import numpy as np

    from gen.nirgraph import export_nir
    from sim.network import Network
    rng = np.random.default_rng(0)
    net = Network([rng.integers(-8, 8, (6, 8)), rng.integers(-8, 8, (3, 6))], [20, 9], 4)
    export_nir(net, tmp_path / "net.nir", S=1, T=2)
    assert flash.main(["--board", "icebreaker", "--build-only", "--network", str(tmp_path / "net.nir"),
                       "--out", str(tmp_path)]) == 0
    assert os.path.exists(tmp_path / "icebreaker_net_w4s1t2_8-6-3" / "top.bin")
    assert_bitstream(str(tmp_path / "icebreaker_net_w4s1t2_8-6-3" / "top.bin"), "icebreaker")
    (tmp_path / "bad.json").write_text("{}")
    assert flash.main(["--build-only", "--network", str(tmp_path / "bad.json")]) == 2
    assert "not a network file" in capsys.readouterr().err


def test_the_same_bitstream_from_two_checkout_folders(tmp_path):
    """Two independent builds of one core, from two copies of the project; the second also
    programs, which stops at the board (no board here) or at the missing iceprog."""
    import shutil

    from test_emit import copy_checkout, run_module
    a, b = copy_checkout(tmp_path / "a"), copy_checkout(tmp_path / "another-checkout")
    command = ["boards.flash", "--board", "icebreaker", "--out", "build"] + SMALL
    first = run_module(a, *command, "--build-only")
    assert first.returncode == 0, first.stderr
    second = run_module(b, *command)
    assert second.returncode == 2
    assert ("no board found" if shutil.which("iceprog") else "iceprog not found") in second.stderr
    again = run_module(a, *command, "--build-only")        # the same command twice: the plan's digest matches
    assert again.returncode == 0 and again.stdout == first.stdout
    build = os.path.join("build", "icebreaker_w4s1t2_8x2")
    for name in ("top.il", "top.pcf", "build_top.sh", "top.bin"):
        assert (a / build / name).read_bytes() == (b / build / name).read_bytes(), name
    assert str(tmp_path) not in (a / build / "top.il").read_text()


def test_a_network_too_large_for_the_up5k_block_ram_is_refused_before_building(tmp_path, capsys):
    """784-128-10 at W=8 (802,816 + 10,240 weight bits) in block RAM: refused at once, naming SPRAM."""
    import numpy as np
    from sim.netfile import save_json
    from sim.network import Network
    save_json(Network([np.zeros((128, 784), np.int64), np.zeros((10, 128), np.int64)], [1, 1], 8), 1, 4,
              str(tmp_path / "n.json"))
    assert flash.main(["--build-only", "--network", str(tmp_path / "n.json"), "--out", str(tmp_path)]) == 2
    assert ("--weight-memory bram: the network's 813,056 weight bits exceed the UP5K's 122,880 bits of block RAM; "
            "use --weight-memory spram") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "n.json"]


def test_spram_weights_build_on_the_up5k_only(tmp_path, capsys):
    """The weights in SPRAM (written at run time over the link): nextpnr places the cell
    as ICESTORM_SPRAM, and no block RAM holds weights; other boards are refused."""
    assert flash.main(["--build-only", "--weight-memory", "spram", "--out", str(tmp_path)] + SMALL) == 0
    out = capsys.readouterr().out
    assert "_spram/top.bin" in out and "ICESTORM_SPRAM 1/4" in out and "ICESTORM_RAM" not in out
    assert flash.main(["--board", "ulx3s", "--build-only", "--weight-memory", "spram"] + SMALL) == 2
    assert "--weight-memory spram needs an iCE40 UP5K board" in capsys.readouterr().err
