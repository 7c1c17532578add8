"""What the engine and worker processes share: the event stream, logging, loading locustfiles.

Imported only inside those (gevent) processes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from controlplane.load.spec import EngineSpec

__all__ = ["EngineError", "EventOut", "load_classes", "load_locustfiles", "setup_logging"]


class EngineError(Exception):
    """Bad input or a failed precondition, reported as an `error` event."""

    def __init__(self, kind: str, message: str, *, file: str = "", detail: str = "",
                 exit_code: int = 2) -> None:
        super().__init__(message)
        self.kind = kind
        self.file = file
        self.detail = detail
        self.exit_code = exit_code


class EventOut:
    """JSON lines on the process's original stdout; `sys.stdout` is sent to stderr so that
    nothing else (a print in a locustfile) can corrupt the stream."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    @classmethod
    def take_stdout(cls) -> EventOut:
        sys.stdout.flush()
        out = cls(os.dup(1))
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        return out

    def emit(self, event: str, **fields: Any) -> None:
        self._file.write(json.dumps({"type": event, **fields}, default=str) + "\n")
        self._file.flush()


def setup_logging(path: Path) -> None:
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def load_locustfiles(paths: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """({user class name: class}, {shape class name: instance}) from the locustfiles."""
    from locust.util.load_locustfile import load_locustfile

    users: dict[str, Any] = {}
    shapes: dict[str, Any] = {}
    for path in paths:
        if not Path(path).is_file():
            raise EngineError("locustfile", "no such locustfile", file=path)
        try:
            found_users, found_shapes = load_locustfile(path)
        except BaseException as err:  # noqa: BLE001 - any import failure is the file's fault
            raise EngineError("locustfile", _import_error(err, path), file=path,
                              detail=traceback.format_exc()) from None
        users.update(found_users)
        shapes.update({type(s).__name__: s for s in found_shapes})
    return users, shapes


def load_classes(spec: EngineSpec) -> tuple[list[Any], Any]:
    """The user classes and the shape instance the spec asks for."""
    users, shapes = load_locustfiles(spec.locustfiles)
    files = ", ".join(spec.locustfiles)
    wanted = spec.user_classes or sorted(users)
    unknown = [name for name in wanted if name not in users]
    if unknown or not wanted:
        raise EngineError("user_class", f"unknown user class {', '.join(unknown) or '(none)'}; "
                          f"classes in {files}: {', '.join(sorted(users)) or '(none)'}",
                          file=files)
    shape = None
    if spec.shape:
        shape = shapes.get(spec.shape)
        if shape is None:
            raise EngineError("shape", f"no load shape {spec.shape!r} in {files}; found: "
                              f"{', '.join(sorted(shapes)) or '(none)'}", file=files)
    return [users[name] for name in wanted], shape


def _import_error(err: BaseException, path: str) -> str:
    """`ExcType: message (file:line)` naming the locustfile's line where it failed."""
    where = ""
    if isinstance(err, SyntaxError) and err.filename:
        where = f"{err.filename}:{err.lineno}"
    else:
        frames = traceback.extract_tb(err.__traceback__)
        ours = [f for f in frames if Path(f.filename).resolve() == Path(path).resolve()]
        frame = (ours or frames or [None])[-1]
        if frame is not None:
            where = f"{frame.filename}:{frame.lineno}"
    return f"{type(err).__name__}: {err}" + (f" (at {where})" if where else "")
