"""eeg2music fetch against a real HTTP server on localhost that serves a fake bucket with range requests."""

from __future__ import annotations

import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import pytest

from eeg2music.errors import InputError
from eeg2music.io.fetch import check_online, fetch, packaged_manifest, plan, read_manifest


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with `Range: bytes=N-` support (S3 answers 206 the same way).

    Each request is recorded as (path, first byte asked for) before any byte of the answer is sent, so the record
    is complete by the time the client has read the answer: a count taken after the write would race with it.
    """

    requests: list[tuple[str, int]] = []  # noqa: RUF012 (reset by the fixture)

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        rng = self.headers.get("Range")
        start = int(rng.split("=")[1].rstrip("-")) if rng else 0
        type(self).requests.append((self.path.lstrip("/"), start))
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def bucket(tmp_path):
    root = tmp_path / "bucket"
    files = {
        "ds002722/sub-01/eeg/sub-01_task-run1_eeg.edf": b"EDF" * 40000,
        "ds002722/stimuli/hvha1.wav": b"RIFF" * 5000,
        "ds002722/sub-01/eeg/sub-01_task-run1_channels.tsv": b"name\ttype\n",
        "ds002722/sub-01/eeg/sub-01_task-run1_eeg.json": b"{}",
        "ds002722/sub-01/eeg/sub-01_task-run1_events.tsv": b"onset\tduration\ttrial_type\n",
        "ds002722/sub-01/eeg/sub-01_task-run1_events.json": b"{}",
        "ds002722/dataset_description.json": b"{}",
        "ds002722/participants.tsv": b"participant_id\n",
        "ds002722/README": b"readme",
        "ds002722/CHANGES": b"changes",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    manifest = tmp_path / "manifest.tsv"
    rows = ["path\tsize_bytes\tannex_key"]
    for rel in ("sub-01/eeg/sub-01_task-run1_eeg.edf", "stimuli/hvha1.wav"):
        data = files["ds002722/" + rel]
        rows.append(f"{rel}\t{len(data)}\tMD5E-s{len(data)}--{hashlib.md5(data).hexdigest()}{Path(rel).suffix}")
    manifest.write_text("\n".join(rows) + "\n")
    RangeHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", manifest, files
    server.shutdown()
    server.server_close()


def test_fetch_downloads_verifies_and_resumes(bucket, tmp_path):
    url, manifest, files = bucket
    dest = tmp_path / "ds002722"
    edf = dest / "sub-01/eeg/sub-01_task-run1_eeg.edf"
    edf.parent.mkdir(parents=True)
    full = files["ds002722/sub-01/eeg/sub-01_task-run1_eeg.edf"]
    (edf.parent / (edf.name + ".part")).write_bytes(full[:50000])  # an interrupted earlier download
    counts = fetch("ds002722", dest, subjects=["01"], base_url=url, manifest=manifest)
    assert counts == {"downloaded": 10, "skipped": 0, "missing": 0}
    assert edf.read_bytes() == full and not list(dest.rglob("*.part"))
    # every file asked for once, from its first byte, except the EDF, which resumed where the part file ended
    assert sorted(RangeHandler.requests) == sorted((rel, 50000 if rel.endswith(".edf") else 0) for rel in files)
    assert fetch("ds002722", dest, subjects=["01"], base_url=url, manifest=manifest)["skipped"] == 10


def test_fetch_rejects_a_corrupt_download(bucket, tmp_path):
    url, manifest, _ = bucket
    lines = manifest.read_text().splitlines()
    path, size, key = lines[1].split("\t")
    lines[1] = "\t".join([path, size, key.split("--")[0] + "--" + "0" * 32 + ".edf"])  # a wrong MD5 for the EDF
    manifest.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="does not match the annex key") as err:
        fetch("ds002722", tmp_path / "d", subjects=["01"], base_url=url, manifest=manifest)
    assert "sub-01_task-run1_eeg.edf" in str(err.value)
    assert not list((tmp_path / "d").rglob("*.edf*"))


def test_offline_fails_at_once_with_one_line():
    with pytest.raises(InputError, match=r"cannot reach 127\.0\.0\.1:9") as err:
        check_online("http://127.0.0.1:9", timeout=2)
    assert "\n" not in str(err.value) and "login node" in str(err.value)


def test_plan_from_the_real_manifest():
    """The packaged manifest is the real ANNEXED_FILES.tsv: sub-01 of ds002725 has 5 EEG runs and 216 stimuli."""
    files = plan(read_manifest(packaged_manifest("ds002725")), ["01"], stimuli=True)
    edfs = [p for p, k in files if p.endswith("_eeg.edf")]
    assert len(edfs) == 5 and all(k.startswith("MD5E-s") for p, k in files if p.endswith(".edf"))
    wavs = [r["path"] for r in read_manifest(packaged_manifest("ds002725")) if r["path"].endswith((".wav", ".mp3"))]
    assert sum(p.startswith("stimuli/") for p, _ in files) == len(wavs) > 200
    assert not any("/." in p or "__MACOSX" in p for p, _ in files)
    assert ("sub-01/eeg/sub-01_task-genMusic01_events.tsv", None) in files


def test_a_sidecar_absent_on_the_server_is_listed_and_the_rest_arrives(bucket, tmp_path, capsys):
    """Some real runs lack a sidecar (ds002723 has events.json for 24 of 44 runs): fetch goes on and says so."""
    from eeg2music.io.fetch import main

    url, manifest, files = bucket
    (tmp_path / "bucket/ds002722/sub-01/eeg/sub-01_task-run1_events.json").unlink()
    dest = tmp_path / "ds002722"
    assert main(["ds002722", "--dest", str(dest), "--subjects", "01", "--base-url", url, "--manifest",
                 str(manifest)]) == 0
    err = capsys.readouterr().err
    assert "1 sidecar(s) the manifest expects are not on the server" in err and "MISSING_SIDECARS.txt" in err
    assert (dest / "MISSING_SIDECARS.txt").read_text() == "sub-01/eeg/sub-01_task-run1_events.json\n"
    assert (dest / "sub-01/eeg/sub-01_task-run1_eeg.edf").read_bytes() == files[
        "ds002722/sub-01/eeg/sub-01_task-run1_eeg.edf"]
