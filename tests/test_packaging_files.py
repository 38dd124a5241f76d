"""The Linux desktop files in packaging/linux agree with each other and with the package, and validate.

The MIME definitions are checked by building a real shared-mime-info cache and asking Qt's MIME
database (in a child process, as the cache is read once per process) what it makes of sample files.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from spanscope.core.resources import APP_ID

ROOT = Path(__file__).resolve().parents[1]
LINUX = ROOT / "packaging" / "linux"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
MIME = LINUX / f"{APP_ID}.mime.xml"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
SYSTEM_MIME = Path("/usr/share/mime/packages/freedesktop.org.xml")
OUR_TYPES = {"application/x-spanscope-store", "application/x-otlp-json", "application/x-ndjson"}


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def defined_mime_types() -> set[str]:
    return {t.get("type") for t in ET.parse(MIME).getroot().iter(f"{MIME_NS}mime-type")}


def test_desktop_entry_launches_the_installed_command_with_the_app_icon():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Spanscope"
    command = entry["Exec"].split()
    assert command == ["spanscope", "%F"]  # several files or stores at once
    assert command[0] in pyproject()["project"]["scripts"]
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert entry["Categories"].split(";")[0] == "Development"


def test_desktop_mime_types_are_ours_or_standard():
    listed = desktop_entry()["MimeType"]
    assert listed.endswith(";")
    entry_types = set(listed.rstrip(";").split(";"))
    assert defined_mime_types() == OUR_TYPES <= entry_types
    assert entry_types - OUR_TYPES == {"application/json", "application/vnd.sqlite3"}


def test_metainfo_names_the_desktop_entry_license_and_media_types():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("project_license") == pyproject()["project"]["license"]
    assert root.findtext("name") == desktop_entry()["Name"]
    provided = {m.text for m in root.iter("mediatype")}
    assert provided == OUR_TYPES
    assert {b.text for b in root.iter("binary")} == {"spanscope"}


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_passes_desktop_file_validate():
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli is not installed")
def test_metainfo_passes_appstream_validation():
    done = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(METAINFO)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


RESOLVE = """
import sys
from PySide6.QtCore import QCoreApplication, QMimeDatabase
app = QCoreApplication([])
db = QMimeDatabase()
for name in sys.argv[1:]:
    print(name, db.mimeTypeForFile(name).name())
"""


@pytest.mark.skipif(shutil.which("update-mime-database") is None, reason="shared-mime-info is not installed")
def test_mime_definitions_resolve_sample_files(tmp_path):
    packages = tmp_path / "share" / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copyfile(MIME, packages / f"{APP_ID}.xml")
    if SYSTEM_MIME.exists():  # the parent types (JSON, SQLite, text) come from the system's list
        shutil.copyfile(SYSTEM_MIME, packages / SYSTEM_MIME.name)
    subprocess.run(["update-mime-database", str(packages.parent)], check=True, capture_output=True)
    samples = tmp_path / "samples"
    samples.mkdir()
    otlp = b'{"resourceSpans":[{"resource":{},"scopeSpans":[]}]}\n'
    (samples / "spanscope.db").write_bytes(b"SQLite format 3\x00" + bytes(100))
    (samples / "agent.otlp.jsonl").write_bytes(otlp)
    (samples / "export.trace").write_bytes(otlp)  # no known extension: recognized by content
    (samples / "runs.jsonl").write_bytes(b'{"id": 1}\n{"id": 2}\n')
    share = str(tmp_path / "share")
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE, *sorted(p.name for p in samples.iterdir())],
        cwd=samples,
        env={"XDG_DATA_HOME": share, "XDG_DATA_DIRS": share, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        check=True,
    )
    resolved = dict(line.split() for line in done.stdout.splitlines())
    assert resolved == {
        "agent.otlp.jsonl": "application/x-otlp-json",
        "export.trace": "application/x-otlp-json",
        "runs.jsonl": "application/x-ndjson",
        "spanscope.db": "application/x-spanscope-store",
    }
