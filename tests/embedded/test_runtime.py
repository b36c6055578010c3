"""The dev encryption key file is private from the moment it exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Makes the key in a fresh interpreter (audit hooks cannot be removed) with umask 0,
#: so a mode the code does not choose itself would show as 0666, and notes every open
#: and chmod of the key file: (event, open flags).
_MAKE_KEY = """
import json, os, sys
from pathlib import Path

home = Path(sys.argv[1])
key = home / "encryption.key"
events = []

def hook(event, args):
    if event in ("open", "os.chmod") and str(args[0]) in (str(key), key.name):
        events.append([event, args[2] if event == "open" else None])

sys.addaudithook(hook)
os.umask(0)
from embedded.runtime import _dev_key
from settings import Settings

first = _dev_key(Settings(home=home))
again = _dev_key(Settings(home=home))
print(json.dumps({"events": events, "same": first == again}))
"""


def test_the_key_file_is_created_0600_and_never_widened_or_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    made = subprocess.run(
        [sys.executable, "-c", _MAKE_KEY, str(home)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(made.stdout)
    assert report["same"]  # the second start reads the key the first one made
    events = report["events"]
    assert ["os.chmod", None] not in events
    # Each open that may create it fails if it exists: nothing opens an existing key
    # file for writing, and no open would follow a link planted in its place.
    creating = [flags for event, flags in events if event == "open" and flags & os.O_CREAT]
    assert creating and all(flags & os.O_EXCL for flags in creating)
    assert (home / "encryption.key").stat().st_mode & 0o777 == 0o600  # despite umask 0
    assert home.stat().st_mode & 0o777 == 0o700
