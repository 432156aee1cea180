"""Download an OpenNeuro dataset (or some subjects of it), resumably, verifying every annexed file's MD5.

OpenNeuro serves each dataset's files from a public S3 bucket over plain HTTPS, which supports range requests:
an interrupted download resumes from its ``.part`` file. Large files are git-annex objects whose key
(``MD5E-s<size>--<md5>.<ext>``, listed in ``io/manifests/<dataset>.tsv``, copied from the real datasets) gives the
checksum to verify. Small sidecars are not annexed and are fetched without a checksum.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import socket
import sys
import urllib.error
import urllib.request
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

from eeg2music.errors import InputError, one_line_errors
from eeg2music.io.readers import get_dataset

DEFAULT_BASE_URL = "https://s3.amazonaws.com/openneuro.org"
KEY_RE = re.compile(r"MD5E?-s(\d+)--([0-9a-f]{32})")
TOP_LEVEL = ("dataset_description.json", "participants.tsv", "README", "CHANGES")
SIDECARS = ("_channels.tsv", "_eeg.json", "_events.tsv", "_events.json")
CHUNK = 1 << 20


def read_manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def packaged_manifest(dataset: str) -> Path:
    return Path(str(resources.files("eeg2music.io") / "manifests" / f"{dataset}.tsv"))


def plan(manifest: list[dict[str, str]], subjects: list[str] | None, stimuli: bool) -> list[tuple[str, str | None]]:
    """(path, annex key or None) to download: the subjects' EEG with sidecars, the stimuli, the top-level files."""
    wanted: list[tuple[str, str | None]] = [(p, None) for p in TOP_LEVEL]
    for row in manifest:
        path = row["path"]
        m = re.match(r"sub-([^/]+)/", path)
        if m and "/eeg/" in path and path.endswith("_eeg.edf") and (not subjects or m.group(1) in subjects):
            wanted.append((path, row["annex_key"]))
            stem = path.removesuffix("_eeg.edf")
            wanted += [(stem + s, None) for s in SIDECARS]
        elif stimuli and path.startswith("stimuli/") and "__MACOSX" not in path and "/." not in path:
            wanted.append((path, row["annex_key"]))
    return wanted


def check_online(base_url: str, timeout: float = 5.0) -> None:
    """Fail at once, with one line, when the host cannot be reached (compute nodes usually have no internet)."""
    url = urlparse(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as err:
        raise InputError(None, f"cannot reach {url.hostname}:{port} ({err.strerror or err})",
                         "fetch needs internet: run it on a login node, or copy the dataset into place yourself") \
            from err


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, key: str | None, bar: tqdm | None = None) -> str:
    """Fetch ``url`` to ``dest`` via ``dest.part`` (resumed if present); returns "skipped", "downloaded", or
    "missing" for a sidecar the server does not have."""
    size = md5 = None
    if key:
        m = KEY_RE.match(key)
        if not m:
            raise InputError(None, f"annex key {key!r} has no MD5", "the manifest must list MD5E keys")
        size, md5 = int(m.group(1)), m.group(2)
    if dest.exists() and (key is None or (dest.stat().st_size == size and md5sum(dest) == md5)):
        return "skipped"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            mode = "ab" if have and resp.status == 206 else "wb"
            with open(part, mode) as f:
                for block in iter(lambda: resp.read(CHUNK), b""):
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
    except urllib.error.HTTPError as err:
        if err.code == 416 and have == size:  # the part file is already whole
            pass
        elif err.code == 404 and key is None:  # a sidecar some runs lack (ds002723 events.json): not fatal
            return "missing"
        else:
            raise InputError(url, f"HTTP {err.code}", "check the dataset id and subject labels") from err
    except (urllib.error.URLError, OSError) as err:
        raise InputError(url, f"download interrupted ({err})", "run the same fetch again: it resumes") from err
    if md5 is not None:
        got = md5sum(part)
        if got != md5:
            part.unlink()
            raise InputError(dest, f"MD5 {got} does not match the annex key {md5}", "run fetch again to re-download")
    part.rename(dest)
    return "downloaded"


def fetch(dataset: str, dest: Path, subjects: list[str] | None = None, stimuli: bool = True,
          base_url: str = DEFAULT_BASE_URL, manifest: Path | None = None) -> dict[str, int]:
    spec = get_dataset(dataset)
    if spec.source != "openneuro":
        raise InputError(None, f"{dataset} is not on OpenNeuro", "download it by hand and set its root in the config")
    manifest = manifest or packaged_manifest(dataset)
    files = plan(read_manifest(manifest), subjects, stimuli)
    check_online(base_url)
    counts = {"downloaded": 0, "skipped": 0, "missing": 0}
    missing = []
    with tqdm(desc=f"fetch {dataset}", unit="B", unit_scale=True, disable=None) as bar:
        for path, key in tqdm(files, desc="files", unit="file", disable=None):
            outcome = download(f"{base_url.rstrip('/')}/{dataset}/{path}", dest / path, key, bar)
            counts[outcome] += 1
            if outcome == "missing":
                missing.append(path)
    (dest / "MISSING_SIDECARS.txt").unlink(missing_ok=True)
    if missing:  # kept beside the data, so the note outlives the terminal
        (dest / "MISSING_SIDECARS.txt").write_text("\n".join(missing) + "\n")
    return counts


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music fetch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="OpenNeuro id, e.g. ds002725")
    p.add_argument("--dest", type=Path, default=None, help="target folder (default data/raw/<dataset>)")
    p.add_argument("--subjects", nargs="*", default=None, help="labels without 'sub-' (default: all)")
    p.add_argument("--no-stimuli", action="store_true", help="skip the stimuli folder")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL, help="bucket URL (default: %(default)s)")
    p.add_argument("--manifest", type=Path, default=None, help="ANNEXED_FILES-style TSV (default: packaged)")
    a = p.parse_args(argv)
    counts = fetch(a.dataset, a.dest or Path("data/raw") / a.dataset, a.subjects, not a.no_stimuli, a.base_url,
                   a.manifest)
    dest = a.dest or Path("data/raw") / a.dataset
    print(f"{a.dataset}: {counts['downloaded']} downloaded, {counts['skipped']} already complete")
    if counts["missing"]:
        print(f"warning: {counts['missing']} sidecar(s) the manifest expects are not on the server (listed in "
              f"{dest / 'MISSING_SIDECARS.txt'}); runs without events.json are still read", file=sys.stderr)
    return 0
