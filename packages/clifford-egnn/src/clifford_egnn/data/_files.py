"""Reading the published data files safely: a restricted unpickler and uniform error messages."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "missing_file_error", "safe_unpickle"]

# numpy arrays pickle through these reconstructors; numpy 2 renamed numpy.core to numpy._core, and files written
# by either name must load.
_ALLOWED_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric", "numpy._core.numeric")
    for name in ("_reconstruct", "scalar", "_frombuffer")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "dict")}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that builds only numpy arrays and plain containers, so a data file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in a data file")


def safe_unpickle(data: bytes) -> Any:
    """Unpickle ``data`` allowing only numpy arrays, lists, tuples, dicts and scalars."""
    return _ArrayUnpickler(io.BytesIO(data)).load()


def missing_file_error(path: Path, what: str, fmt: str, source: str) -> FileNotFoundError:
    """The error raised when a data file is absent: names the file, its format and where it is published."""
    return FileNotFoundError(
        f"{what}: expected the file {path} ({fmt}), found no such file. The data set is published at {source}; "
        "download it and pass its folder (or file) to the loader."
    )


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename (never half written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp creates the file private (0600); give it the permissions an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
