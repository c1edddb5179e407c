"""Headless Chromium (Debian's ``chromium`` package) for the replay report: a screenshot of a page, and its DOM after
its scripts ran. Local tooling, not deployed: the report's browser test and ``make report`` use it.

``python -m baton.local.browser PAGE.html SHOT.png`` saves a screenshot (for the README: ``make report``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 120  # seconds for one browser run
# No network, no first-run work, a fresh profile each time; --no-sandbox because tests run as root in containers.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--virtual-time-budget=5000",  # let the page's script finish before the capture
)


class BrowserError(Exception):
    """Chromium is missing, failed or did not finish in time."""


def chromium() -> str:
    on_path = shutil.which("chromium") or shutil.which("chromium-browser")
    found = on_path or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        raise BrowserError(f"no chromium on PATH or at {CHROMIUM}: `make chromium` installs Debian's package")
    return found


def _run(page: Path, *args: str, timeout: float = TIMEOUT) -> str:
    with tempfile.TemporaryDirectory(prefix="baton-chromium-") as profile:
        command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise BrowserError(f"chromium did not finish with {page} in {timeout} s") from None
    if done.returncode != 0:
        raise BrowserError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(page: Path, timeout: float = TIMEOUT) -> str:
    """The page's DOM, serialized after its scripts ran."""
    return _run(page, "--dump-dom", timeout=timeout)


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 1400, timeout: float = TIMEOUT) -> Path:
    """A PNG of the top ``width`` x ``height`` pixels of the page."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}", timeout=timeout)
    if not png.exists():
        raise BrowserError(f"chromium wrote no screenshot of {page}")
    return png


def shrink(png: Path) -> Path:
    """The same picture in at most 256 colours (a chart page loses nothing visible): a small file for docs."""
    from PIL import Image

    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(png, optimize=True)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Screenshot a page with headless Chromium.")
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1150)
    args = parser.parse_args(argv)
    try:
        shot = shrink(screenshot(args.page, args.png, args.width, args.height))
    except BrowserError as exc:
        print(f"baton.local.browser: {exc}", file=sys.stderr)
        return 1
    print(f"{shot}: {shot.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
