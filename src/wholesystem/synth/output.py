"""Writing the output tree: append-only files with running SHA-256 and row counts.

Everything is written into a hidden staging folder beside the target and swapped into
place at the end, so a reader never sees a half-written synthetic ICS: the target
folder holds either the previous complete output or the new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from wholesystem.synth.config import SynthError

__all__ = ["FileInfo", "Sink", "prepare_output", "publish"]

MANIFEST = "manifest.json"


@dataclass
class FileInfo:
    rows: int = 0
    bytes: int = 0
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)

    @property
    def sha256(self) -> str:
        return self.hasher.hexdigest()


class Sink:
    """Files under a root, each written in order with its own hash and row count."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, FileInfo] = {}
        self._handles: dict[str, BinaryIO] = {}

    def _open(self, rel: str, header: bytes) -> BinaryIO:
        handle = self._handles.get(rel)
        if handle is None:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("wb")
            self._handles[rel] = handle
            self.files[rel] = FileInfo()
            if header:
                self._write(rel, handle, header)
        return handle

    def _write(self, rel: str, handle: BinaryIO, data: bytes) -> None:
        info = self.files[rel]
        info.hasher.update(data)
        info.bytes += len(data)
        handle.write(data)

    def append(self, rel: str, data: bytes, rows: int, header: bytes = b"") -> None:
        handle = self._open(rel, header)
        if data:
            self._write(rel, handle, data)
        self.files[rel].rows += rows

    def ensure(self, rel: str, header: bytes = b"") -> None:
        """Create ``rel`` (header only) if nothing was written to it."""
        self._open(rel, header)

    def write_whole(self, rel: str, data: bytes, rows: int) -> None:
        self.append(rel, data, rows)
        self.close_file(rel)

    def close_file(self, rel: str) -> None:
        handle = self._handles.pop(rel, None)
        if handle is not None:
            handle.close()

    def close(self) -> None:
        for rel in list(self._handles):
            self.close_file(rel)


def prepare_output(out_dir: Path) -> Path:
    """Check the target and return an empty staging folder beside it."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthError(f"--out {out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise SynthError(
            f"--out {out_dir} is not empty and does not hold a previous synthetic ICS "
            f"(no {MANIFEST}); refusing to overwrite it"
        )
    parent = out_dir.resolve().parent
    if not parent.exists():
        parent.mkdir(parents=True)
    staging = parent / f".{out_dir.name}.synth-staging"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def publish(staging: Path, out_dir: Path) -> None:
    """Swap the finished staging folder into place of ``out_dir``."""
    out_dir = Path(out_dir).resolve()
    old = out_dir.parent / f".{out_dir.name}.synth-old"
    if old.exists():
        shutil.rmtree(old)
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    if old.exists():
        shutil.rmtree(old)
