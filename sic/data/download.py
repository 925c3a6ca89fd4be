"""Resumable, checksummed downloads and safe zip extraction for the prepare tools.

``download`` writes to ``<dest>.part``, resumes an interrupted transfer with an HTTP ``Range``
request, shows a progress bar, checks the SHA-256 (a given one, else the one recorded next to the
file by an earlier download) and renames the file into place only when it is complete and correct.
Tests never reach the internet: they serve fixture archives from a loopback HTTP server.

Example:
    >>> from sic.data.download import DOWNLOADS
    >>> DOWNLOADS["cmu"].url
    'http://mocap.cs.cmu.edu/allasfamc.zip'
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from sic.utils.errors import DataError
from sic.utils.io import atomic_dir

__all__ = ["DOWNLOADS", "Download", "download", "extract_zip", "sha256_of"]


@dataclass(frozen=True)
class Download:
    """A known archive: where it lives and, when published, its SHA-256."""

    url: str
    sha256: str | None = None
    note: str = ""


DOWNLOADS = {
    "cmu": Download(
        "http://mocap.cs.cmu.edu/allasfamc.zip",
        note="CMU Graphics Lab MoCap, all subjects as ASF/AMC (about 1 GB). Free for all uses; no reselling. "
        "CMU publishes no checksum: the SHA-256 of the first complete download is recorded and checked on reuse.",
    ),
}


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, progress: bool = True, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``); return ``dest``.

    Raises:
        DataError: a network or HTTP error, or a checksum mismatch (the partial file is then removed,
            so the next attempt starts afresh).
    """
    dest = Path(dest)
    record = dest.with_name(dest.name + ".sha256")
    expected = sha256 or (record.read_text().split()[0] if record.is_file() else None)
    if dest.is_file():
        _verify(dest, expected, dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = start > 0 and response.status == 206
            total = response.headers.get("Content-Length")
            total = int(total) + (start if resumed else 0) if total else None
            with part.open("ab" if resumed else "wb") as f, tqdm(
                total=total, initial=start if resumed else 0, unit="B", unit_scale=True, desc=dest.name, disable=not progress
            ) as bar:
                while block := response.read(1 << 20):
                    f.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as e:
        raise DataError(f"download of {url} failed: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"download of {url} failed ({e}); run again to resume from {part.stat().st_size if part.exists() else 0} bytes") from None
    _verify(part, expected, dest)
    os.replace(part, dest)
    if expected is None:
        record.write_text(f"{sha256_of(dest)}  {dest.name}\n")
    return dest


def _verify(path: Path, expected: str | None, name: Path) -> None:
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected.lower():
        path.unlink()
        raise DataError(f"{name}: SHA-256 {actual} does not match the expected {expected}; the file was removed, download again")


def extract_zip(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest`` atomically, refusing members that would land outside it."""
    if dest.is_dir():
        return dest
    try:
        with zipfile.ZipFile(archive) as z, atomic_dir(dest) as tmp:
            for member in z.namelist():
                target = (tmp / member).resolve()
                if not target.is_relative_to(tmp.resolve()):
                    raise DataError(f"{archive}: member {member!r} would be written outside {dest}")
            z.extractall(tmp)
    except zipfile.BadZipFile as e:
        raise DataError(f"{archive}: not a valid zip archive ({e})") from None
    return dest
