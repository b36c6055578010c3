"""Zip a store plugin for upload (`make plugin-zip`): WordPress installs a zip whose one
top folder is the plugin's directory, so the folder keeps its name and nothing else.

Only what runs in the store goes in: the tests, their stubs and PHPUnit's configuration
stay out. Entries are sorted and dated alike, so the same sources give the same zip.

    python3 plugins/package.py plugins/stocksync-woocommerce dist/stocksync-woocommerce.zip
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

#: What a store never needs, relative to the plugin's directory.
LEFT_OUT = ("tests/", "phpunit.xml.dist")
#: 1980-01-01, zip's earliest date: every build of the same files is byte-identical.
EPOCH = (1980, 1, 1, 0, 0, 0)


def members(source: Path) -> list[Path]:
    """The plugin's files to ship, sorted."""
    return sorted(
        path
        for path in source.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(source).parts)
        and not path.relative_to(source).as_posix().startswith(LEFT_OUT)
    )


def build(source: Path, target: Path) -> list[str]:
    """Write the zip of `source` to `target`; return its entry names."""
    target.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in members(source):
            name = f"{source.name}/{path.relative_to(source).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 plugins/package.py <plugin directory> <zip>", file=sys.stderr)
        return 2
    source, target = Path(argv[0]), Path(argv[1])
    if not (source / f"{source.name}.php").is_file():
        print(f"{source} has no {source.name}.php: not a plugin directory", file=sys.stderr)
        return 2
    names = build(source, target)
    print(f"{target}: {len(names)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
