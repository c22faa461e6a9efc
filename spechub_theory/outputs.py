"""Writing outputs without losing anything that is not ours.

Every writer of the library goes through here. The rules:

* a file or directory is written atomically: into a temporary name beside it, then renamed over
  the target (:func:`write_text`, :func:`write_bytes`, :func:`atomic_path`, :func:`swap_in_dir`), so
  an interrupted run leaves the old content or the new one, never half of either;
* an existing target is replaced only with ``overwrite=True`` (``--overwrite`` at the command line),
  and only when it is recognisably this library's own output of the same kind
  (:func:`check_replaceable`): a dataset directory with this library's ``meta.json``, a folder of
  figures with this library's manifest (:class:`OutputFolder`), a file with the header this
  library writes;
* never the current directory, one of its parents, or a directory that holds an input of the run
  (the prompts file of ``collect``, say), whatever ``overwrite`` says.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

#: The file a folder of reproduced figures carries: the names this library wrote there.
MANIFEST = ".spechub-theory-outputs.json"

#: What the messages tell a user to pass to replace an existing output.
OVERWRITE_HINT = "pass overwrite=True (--overwrite at the command line) to replace it"


def _resolved(path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    return path == folder or folder in path.parents


def protect(target, name: str, inputs: Iterable = ()) -> None:
    """Refuse ``target`` as a place to delete or replace: the current directory or one of its
    parents, the file system root, or a directory holding (at any depth) one of ``inputs``."""
    where = _resolved(target)
    here = _resolved(Path.cwd())
    if where == Path(where.anchor) or _inside(here, where):
        raise ValueError(f"{name}: {target} is the current directory or one of its parents; choose a new directory")
    for item in inputs:
        if item is not None and _inside(_resolved(item), where):
            raise ValueError(f"{name}: {target} holds {item}, an input of this run; choose another directory")


def check_replaceable(target, name: str, overwrite: bool, is_ours: Callable[[Path], bool], kind: str,
                      inputs: Iterable = ()) -> bool:
    """Whether ``target`` exists, after checking that the run may write it.

    Raises ``ValueError`` naming ``name`` when ``target`` exists and ``overwrite`` is false, when it
    is protected (:func:`protect`), or when it exists but ``is_ours(target)`` says it is not a
    ``kind`` this library wrote.
    """
    target = Path(target)
    protect(target, name, inputs)
    if not (target.exists() or target.is_symlink()):
        return False
    if not overwrite:
        raise ValueError(f"{name}: {target} exists; {OVERWRITE_HINT}")
    if target.is_symlink() or not is_ours(target):
        raise ValueError(f"{name}: {target} exists and is not {kind}; it is never replaced, choose another path")
    return True


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a temporary file beside it, then renamed)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes(path, text.encode())


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary file name beside ``path``, renamed to ``path`` when the block ends without error
    and removed when it raises. The name keeps ``path``'s suffix, for writers that go by it."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def swap_in_dir(tmp: Path, target: Path) -> Path:
    """Move the complete directory ``tmp`` to ``target``. An existing ``target`` (already checked
    with :func:`check_replaceable`) is first renamed aside and removed only once ``tmp`` is in place."""
    aside = None
    if target.exists():
        aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rmdir(aside)
        os.replace(target, aside)
    try:
        os.replace(tmp, target)
    except BaseException:
        if aside is not None:
            os.replace(aside, target)
        raise
    if aside is not None:
        shutil.rmtree(aside)
    return target


#: The file of a resumable run's folder that holds the settings of the run that started it.
SETTINGS = "settings.json"


def resume_folder(folder, settings: dict, name: str, kind: str, hint: str) -> bool:
    """Start or resume the run whose partial work lives in ``folder``; returns whether it was created.

    A new ``folder`` is created with ``settings`` in :data:`SETTINGS`. An existing one is resumed only
    when that file holds exactly ``settings``; otherwise a ``ValueError`` names ``name`` and every
    setting that differs (``key: interrupted run A, now B``), or says the folder is not ``kind``.
    ``hint`` ends the message (what to do instead). One rule for every resumable writer."""
    folder = Path(folder)
    file = folder / SETTINGS
    if not folder.exists():
        folder.mkdir(parents=True)
        write_text(file, json.dumps(settings, indent=2, sort_keys=True))
        return True
    try:
        started = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{name}: {folder} exists but is not {kind} (no readable {SETTINGS}); {hint}") from None
    now = json.loads(json.dumps(settings))  # as the file would hold it (tuples as lists)
    differ = sorted(key for key in now.keys() | started.keys() if now.get(key) != started.get(key))
    if differ:
        details = "; ".join(f"{key}: interrupted run {started.get(key)!r}, now {now.get(key)!r}" for key in differ)
        raise ValueError(f"{name}: {folder} holds {kind} with other settings ({details}); rerun with the same "
                         f"settings to resume, or {hint}")
    return False


class OutputFolder:
    """A folder a writer fills with files of known names (the figures and claims of ``reproduce``).

    The folder's :data:`MANIFEST` lists the names the writer put there and whether the run was
    ``quick``. A file of one of those names that the manifest does not list is not this writer's,
    so it is never replaced; a quick run never replaces the files of a full run.
    """

    def __init__(self, folder, quick: bool, writer: str, name: str = "out"):
        self.folder, self.quick, self.writer, self.name = Path(folder), bool(quick), writer, name
        protect(self.folder, name)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"{name}: {self.folder} exists and is not a directory")
        self.manifest = self._read_manifest()
        if self.manifest is not None and self.quick and not self.manifest.get("quick", True):
            raise ValueError(f"{name}: {self.folder} holds a full run; a quick run never replaces it "
                             f"(use the default quick folder or another --out)")

    def _read_manifest(self) -> dict | None:
        file = self.folder / MANIFEST
        if not file.is_file():
            return None
        try:
            record = json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{self.name}: {file} is not valid JSON; remove it or choose another --out") from None
        if not isinstance(record, dict) or not isinstance(record.get("files"), list):
            raise ValueError(f"{self.name}: {file} is not a manifest of this library")
        return record

    def check(self, names: Iterable[str]) -> None:
        """Refuse before any work when a file of ``names`` exists in the folder but is not ours."""
        ours = set(self.manifest["files"]) if self.manifest else set()
        for file_name in names:
            path = self.folder / file_name
            if (path.exists() or path.is_symlink()) and (file_name not in ours or path.is_symlink()):
                raise ValueError(f"{self.name}: {path} exists and was not written by {self.writer}; "
                                 f"it is never replaced, choose another --out")

    def path(self, file_name: str) -> Path:
        """Where to write ``file_name`` (checked), recording it in the manifest first."""
        self.check([file_name])
        self.folder.mkdir(parents=True, exist_ok=True)
        record = self.manifest or {"writer": self.writer, "files": []}
        record["quick"] = self.quick
        if file_name not in record["files"]:
            record["files"] = sorted(record["files"] + [file_name])
        write_text(self.folder / MANIFEST, json.dumps(record, indent=2, sort_keys=True) + "\n")
        self.manifest = record
        return self.folder / file_name

    def write_text(self, file_name: str, text: str) -> Path:
        return write_text(self.path(file_name), text)

    @contextlib.contextmanager
    def atomic(self, file_name: str) -> Iterator[Path]:
        """A temporary path renamed to ``file_name`` in the folder when the block succeeds."""
        with atomic_path(self.path(file_name)) as tmp:
            yield tmp
