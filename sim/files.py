"""Writing a set of output files all or nothing: every file is staged as a temporary in its
folder, every destination is checked to be replaceable (a directory in the way of one
would otherwise fail after others were already replaced), and only then renamed."""

import os
import tempfile

from .params import ParamError


def write_files(name, out, files, remove=()):
    """Write {filename: str or bytes} into folder `out` (given as option `name`), then
    delete the files named in `remove` that exist (outputs of an earlier run that the new
    set does not contain). Returns the written paths. Nothing changes on an error."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ParamError(name, out, text="{name} {value}: cannot create directory ({why})", why=e.strerror) from None
    finals = [os.path.join(out, f) for f in files] + [os.path.join(out, f) for f in remove]
    for path in finals:
        if os.path.isdir(path):
            raise ParamError(name, out, text="{name} {value}: cannot write {path}: a directory is in the way",
                             path=path)
    staged = []
    try:
        for fname, content in files.items():
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{fname}.")
            os.fchmod(fd, 0o644)        # mkstemp makes 0600; generated files are ordinary files
            staged.append((tmp, os.path.join(out, fname)))
            with os.fdopen(fd, "wb" if isinstance(content, bytes) else "w") as f:
                f.write(content)
        for tmp, final in staged:
            os.replace(tmp, final)
        for fname in remove:
            if os.path.lexists(os.path.join(out, fname)):
                os.remove(os.path.join(out, fname))
    except OSError as e:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise ParamError(name, out, text="{name} {value}: cannot write ({why})", why=e.strerror) from None
    return [final for _, final in staged]
