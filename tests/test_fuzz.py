"""boards.fuzz: hostile traffic into the simulated board; every valid request after the
timeout gap is answered correctly (the seeded run here is small; `python -m boards.fuzz
--frames N` runs a larger one)."""

from boards import fuzz
from boards import protocol as P


def test_every_valid_request_after_the_gap_is_answered():
    f = fuzz.fuzz(12, seed=0)
    assert f["frames"] == 12 and all(f[k] == 2 for k in fuzz.HOSTILE)
    assert f["requests"] >= 12 and f["lost"] == 0
    # guard: the hostile frames reached the board's error paths
    for code in (P.ERR_TIMEOUT, P.ERR_OVERRUN, P.ERR_FRAMING):
        assert f["dropped"].get(P.ERRORS[code], 0) > 0, P.ERRORS[code]


def test_command_line(capsys):
    assert fuzz.main(["--frames", "0"]) == 2
    assert "--frames 0" in capsys.readouterr().err
