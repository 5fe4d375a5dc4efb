"""`harness init [DIR]`: write a new behave project that runs on the harness, passing out of the box.

The files are package data in ``harness/scaffold/`` (so a wheel carries them): behave's hooks
file, ``steps/`` loading the generic steps, one environment with a stub service from the base
image, its compose template and one feature. ``__BASE_IMAGE__`` in a file becomes the base image
(``HARNESS_BASE_IMAGE`` or the default); ``gitignore`` is written as ``.gitignore``. Nothing is
ever overwritten: when any file exists, nothing is written and the error names every such file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.env.images import base_image_from_env
from harness.errors import ConfigError

PLACEHOLDER = "__BASE_IMAGE__"
_RENAMED = {"gitignore": ".gitignore"}  # dot files stay visible in the package data


def scaffold_dir() -> Path:
    """The folder of the files `harness init` writes (``harness/scaffold``, package data)."""
    return Path(__file__).resolve().parent / "scaffold"


def scaffold_files(source: Path | None = None) -> dict[Path, Path]:
    """Target path (relative to the new project) -> source file, for every scaffold file."""
    source = source or scaffold_dir()
    files = {}
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            relative = path.relative_to(source)
            files[relative.with_name(_RENAMED.get(relative.name, relative.name))] = path
    return files


def init_project(target: Path, *, base_image: str | None = None, source: Path | None = None) -> list[Path]:
    """Write the scaffold into ``target`` (created if needed); return the files written, in order."""
    files = scaffold_files(source)
    if not files:
        raise ConfigError("no scaffold files in the harness package", file=str(source or scaffold_dir()),
                          hint="reinstall the harness: its wheel carries harness/scaffold/")
    if target.exists() and not target.is_dir():
        raise ConfigError("not a folder", file=str(target), hint="name a new or empty folder: `harness init DIR`")
    existing = [target / relative for relative in files if (target / relative).exists()]
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise ConfigError(f"refusing to overwrite {len(existing)} existing file(s): {names}", file=str(target),
                          hint="run `harness init` on an empty or new folder, or move those files away first")
    image = base_image or base_image_from_env()
    written = []
    for relative, path in files.items():
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(path.read_text().replace(PLACEHOLDER, image))
        written.append(out)
    return written


def main(argv: list[str]) -> int:
    """`harness init [DIR]`: scaffold a project in DIR (default: the current folder)."""
    args = _parser().parse_args(argv)
    target = Path(args.dir)
    written = init_project(target, base_image=args.base_image)
    for path in written:
        print(f"wrote {path}")
    print(f"\nnext: cd {target} && behave    (the stub environment comes up, one feature runs, it goes down)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness init",
                                     description="scaffold a new behave project that runs on the harness")
    parser.add_argument("dir", nargs="?", default=".", help="the project folder (created if missing)")
    parser.add_argument("--base-image", default=None,
                        help="the stub's image (default: $HARNESS_BASE_IMAGE or harness-base:bookworm-1)")
    return parser
