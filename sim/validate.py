"""Values and files a user hands in, checked before anything trusts them: integer .npy
arrays, JSON whose numbers must be finite (and integers where integers are meant), seeds
and output folders. Each failure is a `ParamError` naming the option or file and what is
wrong with it, one line, so a command line exits 2 instead of computing with it.

Why each check: `np.load` raises EOFError on a zero-byte file and returns an NpzFile for
an .npz; `astype(int64)` wraps uint64 2**64-1 to -1; `json.load` accepts NaN and Infinity
(not JSON) and `int(4.7)` is 4; `float("nan") < 0` is False, so a NaN passes a sign check.
"""

import json
import math
import os

import numpy as np

from .params import ParamError

INT64 = np.iinfo(np.int64)


def load_npy(name, path):
    """The one array in the .npy file `path` (given as option `name`); pickles refused."""
    try:
        a = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ParamError(name, path, text="{name} {value}: no such file") from None
    except (OSError, ValueError, EOFError) as e:
        why = "the file is empty" if isinstance(e, EOFError) else e
        raise ParamError(name, path, text="{name} {value}: not a readable .npy array ({why})", why=why) from None
    if not isinstance(a, np.ndarray):       # an .npz archive
        a.close()
        raise ParamError(name, path, text="{name} {value}: an .npz archive: legal is one .npy array")
    return a


def load_int_array(name, path):
    """An integer array from the .npy file `path` (given as option `name`), as int64."""
    a = load_npy(name, path)
    if a.dtype.kind not in "iu":
        raise ParamError(name, path, text="{name} {value}: has dtype {dtype}: legal is an integer array", dtype=a.dtype)
    if a.dtype.kind == "u" and a.size and a.max() > INT64.max:
        raise ParamError(name, path, text="{name} {value}: value {big} does not fit a signed 64-bit integer",
                         big=int(a.max()))
    return a.astype(np.int64)


def load_float_array(name, path):
    """A finite numeric array with a leading sample axis (N, ...) from the .npy file `path`
    (given as option `name`), as float64: inputs such as calibration data."""
    a = load_npy(name, path)
    if a.dtype.kind not in "iuf" or a.ndim < 2 or not len(a):
        raise ParamError(name, path, text="{name} {value}: has dtype {dtype} and shape {shape}: legal is a "
                         "numeric array of shape (N, inputs...), N >= 1", dtype=a.dtype, shape=a.shape)
    if not np.all(np.isfinite(a)):
        raise ParamError(name, path, text="{name} {value}: holds NaN or infinite values")
    return a.astype(np.float64)


def _no_constant(word):
    raise ValueError(f"{word} is not a number JSON allows")


def load_json(name, path):
    """The JSON document in `path` (given as option `name`); NaN and Infinity refused."""
    try:
        with open(path) as f:
            return json.load(f, parse_constant=_no_constant)
    except FileNotFoundError:
        raise ParamError(name, path, text="{name} {value}: no such file") from None
    except (OSError, ValueError) as e:
        raise ParamError(name, path, text="{name} {value}: not a JSON file ({why})", why=e) from None


def integer(what, value, lo=None, hi=None):
    """`value` if it is an integer (not a bool, not a float such as 4.9 or 5.0) in lo..hi;
    else ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{what} is {value!r}: legal is an integer{_range(lo, hi)}")
    return int(value)


def number(what, value, lo=None, hi=None):
    """`value` as a float if it is a finite number (not a bool, a string or null) in lo..hi;
    else ValueError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{what} is {value!r}: legal is a finite number{_range(lo, hi)}")
    return float(value)


def _range(lo, hi):
    if lo is None and hi is None:
        return ""
    return f" >= {lo}" if hi is None else f" <= {hi}" if lo is None else f" in {lo}..{hi}"


def integer_array(what, values):
    """A nested list of JSON integers as an int64 array (a float such as 0.7 or 5.0, a bool,
    a string or an integer beyond int64 refused, naming its index)."""
    a = np.asarray(values, dtype=object)
    flat = a.reshape(-1)
    ok = np.fromiter((type(v) is int and INT64.min <= v <= INT64.max for v in flat), bool, flat.size)
    if not ok.all():        # a type test per element: 0.2 s for 4096 x 1024 (integer() on each took 30 s)
        i = int(np.argmin(ok))
        index, v = [int(k) for k in np.unravel_index(i, a.shape)], flat[i]
        raise ValueError(f"{what}{index} is {v!r}: legal is an integer" + (" that fits int64" if type(v) is int else ""))
    return a.astype(np.int64)


def check_seed(seed):
    if seed < 0:
        raise ParamError("seed", seed, "an integer >= 0")
    return seed


def check_positive(name, value):
    """A finite number > 0 (a NaN or 0 clock, say)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ParamError(name, value, "a finite number > 0")
    return value


def check_out_dir(name, path):
    """`path` is a folder or can become one (not a file)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ParamError(name, path, text="{name} {value}: not a directory")
    return path
