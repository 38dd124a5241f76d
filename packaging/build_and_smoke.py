#!/usr/bin/env python3
"""Build the one-folder app with PyInstaller, then run the built binary the way a user would.

The bundle is checked from a scratch directory, with no source tree or virtualenv in reach:
`spanscope --version` says the pyproject version; `spanscope` alone starts the app on the bundled demo
and keeps running; `spanscope stats` of the demo gives the same figures as the installed package (so
the genai-prices table came along); and `spanscope screenshot` of the demo renders the main window
offscreen to a PNG. Prints the build time and the bundle's size. Run by `make package` and by
tests/test_packaging_slow.py.
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import orjson

from spanscope.core.licenses import bundled_libraries, canonical

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "spanscope.spec"
SHOT_SIZE = (1600, 1000)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Where PyInstaller (6+) puts everything but the executable in a one-folder app.
CONTENTS = "_internal"
DEMO_IN_BUNDLE = Path(CONTENTS, "spanscope", "resources", "demo", "demo.otlp.jsonl")
#: A start that fails (a missing module, library or resource) fails well within this.
APP_ALIVE_S = 8


class SmokeError(Exception):
    """The bundle was built but does not work; the message says which check failed and why."""


def build(dist: Path, work: Path) -> float:
    """Run PyInstaller on the spec; return the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            f"--distpath={dist}",
            f"--workpath={work}",
            str(SPEC),
        ],
        check=True,
        cwd=ROOT,
    )
    return time.monotonic() - started


def bundle_size(bundle: Path) -> tuple[int, int]:
    """Bytes and number of files in the bundle (symlinks not followed)."""
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def largest_parts(bundle: Path, count: int = 8) -> list[tuple[int, str]]:
    """The biggest top-level entries of the bundle's contents, to see what a size is made of."""
    contents = bundle / CONTENTS
    sizes = []
    for entry in contents.iterdir():
        if entry.is_dir():
            sizes.append((bundle_size(entry)[0], entry.name + "/"))
        elif not entry.is_symlink():
            sizes.append((entry.stat().st_size, entry.name))
    return sorted(sizes, reverse=True)[:count]


def pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def user_env(scratch: Path) -> dict[str, str]:
    """A user's environment: offscreen, with no Python setup leaking in and no user files used."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(scratch / "config"),  # no user price overrides or settings
        XDG_DATA_HOME=str(scratch / "data"),  # no user store
    )
    return env


def run(command: list[str], scratch: Path) -> str:
    """Run a command from a scratch dir as a user would; its output, or SmokeError if it fails."""
    done = subprocess.run(
        command, cwd=scratch, env=user_env(scratch), capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise SmokeError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def model_client_bundled(exe: Path, demo: Path, scratch: Path) -> None:
    """A replay from the bundle gets as far as the network: the `openai` client and its HTTP stack
    are in it (asked of a port nothing listens on, the call fails as a user would read it)."""
    done = subprocess.run(
        [
            str(exe),
            "replay",
            str(demo),
            "--filter",
            "kind:llm",
            "--limit",
            "1",
            "--model",
            "m",
            "--endpoint",
            "http://127.0.0.1:9/v1",
        ],
        cwd=scratch,
        env=user_env(scratch),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "cannot reach http://127.0.0.1:9/v1" not in done.stderr + done.stdout or "Traceback" in done.stderr:
        raise SmokeError(f"replay from the bundle did not reach the network:\n{done.stdout}{done.stderr}")


def app_stays_up(exe: Path, scratch: Path) -> None:
    """`spanscope` alone opens the app on the bundled demo; it must still be running after a while."""
    with subprocess.Popen(
        [str(exe)], cwd=scratch, env=user_env(scratch), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as app:
        try:
            app.wait(APP_ALIVE_S)
        except subprocess.TimeoutExpired:
            app.terminate()
            app.communicate(timeout=30)
            return
        error = app.communicate()[1].decode(errors="replace")
        raise SmokeError(f"the app exited with {app.returncode} at start:\n{error}")


def about_metadata_bundled(bundle: Path) -> None:
    """Help > About reads each library's installed metadata: the bundle must carry all of it."""
    folders = (bundle / CONTENTS).glob("*.dist-info")
    present = {canonical(d.name.removesuffix(".dist-info").rsplit("-", 1)[0]) for d in folders}
    expected = {canonical(lib.name) for lib in bundled_libraries()[1:]} | {"spanscope"}
    if missing := sorted(expected - present):
        raise SmokeError(f"no metadata in the bundle for {', '.join(missing)}: About could not list them")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; raises SmokeError if it is not a PNG."""
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise SmokeError(f"{path}: not a PNG")
    return struct.unpack(">II", head[16:24])


def smoke(exe: Path, shot: Path) -> None:
    bundle = exe.parent
    demo = bundle / DEMO_IN_BUNDLE
    if not demo.is_file():
        raise SmokeError(f"{demo}: the demo traces are not in the bundle")
    about_metadata_bundled(bundle)
    print("ok: the metadata of every library About lists is in the bundle")
    with tempfile.TemporaryDirectory(prefix="spanscope-smoke-") as tmp:
        scratch = Path(tmp)
        version = run([str(exe), "--version"], scratch)
        if version != f"spanscope {pyproject_version()}\n":
            raise SmokeError(f"--version said {version!r}, pyproject.toml says {pyproject_version()}")
        print(f"ok: {version.strip()}")

        app_stays_up(exe, scratch)
        print(f"ok: the app started on the demo and was still running after {APP_ALIVE_S} s")

        bundled = run([str(exe), "stats", str(demo), "--json"], scratch)
        stats = [orjson.loads(line) for line in bundled.splitlines()]
        computed = sum(g["cost_source"].get("computed", 0) for g in stats)
        if not computed:
            raise SmokeError("stats of the demo priced no call from the price table")
        installed = run([sys.executable, "-m", "spanscope.cli", "stats", str(demo), "--json"], scratch)
        if stats != [orjson.loads(line) for line in installed.splitlines()]:
            raise SmokeError("stats of the demo differ between the bundle and the installed package")
        print(f"ok: stats prices {computed} calls from the bundled price table, like the installed package")

        model_client_bundled(exe, demo, scratch)
        print("ok: a replay from the bundle reaches the network through the openai client")

        shot.parent.mkdir(parents=True, exist_ok=True)
        shot.unlink(missing_ok=True)
        run([str(exe), "screenshot", str(demo), str(shot.resolve())], scratch)
        if not shot.is_file() or shot.stat().st_size == 0:
            raise SmokeError(f"screenshot exited 0 but {shot} is missing or empty")
        if png_size(shot) != SHOT_SIZE:
            raise SmokeError(f"{shot}: {png_size(shot)} pixels, expected {SHOT_SIZE}")
        print(f"ok: screenshot of the demo, {shot} ({shot.stat().st_size:,} bytes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app goes (./dist)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="build cache")
    parser.add_argument("--shot", type=Path, default=None, help="screenshot path (DIST/spanscope-demo.png)")
    parser.add_argument("--no-build", action="store_true", help="only check an app built before")
    args = parser.parse_args(argv)
    bundle = args.dist / "spanscope"
    exe = bundle / ("spanscope.exe" if sys.platform == "win32" else "spanscope")
    if not args.no_build:
        seconds = build(args.dist, args.work)
        print(f"built {bundle} in {seconds:.0f} s")
    if not exe.is_file():
        print(f"build_and_smoke: {exe}: no app there (build it first)", file=sys.stderr)
        return 2
    size, files = bundle_size(bundle)
    print(f"bundle: {size / 1e6:.1f} MB in {files:,} files")
    for part_size, name in largest_parts(bundle):
        print(f"  {part_size / 1e6:7.1f} MB  {name}")
    try:
        smoke(exe, args.shot or args.dist / "spanscope-demo.png")
    except SmokeError as exc:
        print(f"build_and_smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
