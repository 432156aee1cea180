"""Open an HTML page in a real headless Chromium (Debian's `chromium`) and report what it rendered.

The page is copied beside itself with a probe script appended; Chromium loads it, runs the probe after the load
event, and ``--dump-dom`` prints the DOM, from which the probe's JSON is read back: the tables with their row
counts, and every image with its decoded size (``naturalWidth`` is 0 for an image the browser could not decode).
A screenshot is taken too, so a blank render is caught.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

PROBE = """<script>
window.addEventListener('load', () => {
  const out = {
    title: document.title,
    headings: [...document.querySelectorAll('h1,h2,h3')].map(h => h.textContent),
    tables: [...document.querySelectorAll('table')].map(t => ({id: t.id, rows: t.rows.length,
                                                              visible: t.getBoundingClientRect().height > 0})),
    images: [...document.querySelectorAll('img')].map(i => ({alt: i.alt, complete: i.complete,
                                                            width: i.naturalWidth, height: i.naturalHeight})),
  };
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str:
    """The browser binary, installing Debian's package when it is missing (CI runs as root, as for SLURM)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    apt = ["flock", "/tmp/eeg2music-apt.lock", "apt-get"]  # one apt at a time (the SLURM tests install theirs too)
    subprocess.run([*apt, "update", "-qq"], check=True, capture_output=True, timeout=600)
    subprocess.run([*apt, "install", "-y", "-qq", "chromium"], check=True, capture_output=True, timeout=900)
    return shutil.which("chromium")


def _flags() -> list[str]:
    # --no-sandbox: CI runs as root, which Chromium's sandbox refuses
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
            "--virtual-time-budget=15000"]


def render(page: Path, screenshot: Path) -> dict:
    """What Chromium rendered of ``page``: title, headings, tables, images (see the module docstring)."""
    probed = page.with_name(f".probe-{page.name}")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        proc = subprocess.run([chromium(), *_flags(), "--dump-dom", probed.resolve().as_uri()],
                              capture_output=True, text=True, timeout=180)
        shot = subprocess.run([chromium(), *_flags(), "--window-size=1280,2400", f"--screenshot={screenshot}",
                               probed.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    finally:
        probed.unlink()
    found = re.search(r"<pre id=\"probe\">(.*?)</pre>", proc.stdout, re.S)
    assert found, f"the probe did not run; chromium said: {proc.stderr[-2000:]}"
    assert shot.returncode == 0 and screenshot.exists(), shot.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


def distinct_colours(png: Path) -> int:
    """How many distinct colours a screenshot has: a blank page has one or two."""
    import matplotlib.image

    pixels = (matplotlib.image.imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))
