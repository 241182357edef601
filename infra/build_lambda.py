"""Build the Lambda archive: `handlers/`, `partners/`, `console/` and the runtime
dependencies that neither the Lambda runtime (boto3) nor the Powertools layer provide.

The archive is reproducible: entries sorted, every timestamp 1980-01-01, fixed permissions,
no bytecode caches. Two builds of the same tree (and the same installed dependencies) are
byte-identical, so `pulumi up` only updates functions when their code really changed.

    python -m infra.build_lambda                 # build/lambda.zip with dependencies
    python -m infra.build_lambda --no-deps       # the project's code only
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("handlers", "partners", "console")
DEFAULT_OUTPUT = "build/lambda.zip"
DEFAULT_DEPS_DIR = "build/lambda-deps"
# What the function's environment already has: boto3 in the Lambda runtime, Powertools
# (with the tracer's aws-xray-sdk) in the Powertools layer configured per stack.
# The Python managed runtimes include snapshot-restore-py (SnapStart's runtime hooks,
# https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html).
PROVIDED = frozenset({"boto3", "botocore", "aws-lambda-powertools", "snapshot-restore-py"})
# The Lambda runtime of `infra.cloud.function` (python3.12 on x86_64).
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.12"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class ArchiveError(RuntimeError):
    """The archive cannot be built (a missing source, a failed dependency install)."""


@dataclass(frozen=True)
class BuiltArchive:
    """Where the archive is, how many files it holds, and its SHA-256 (Lambda's base64 form)."""

    path: Path
    files: int
    sha256_base64: str
    sha256_hex: str


def archive_path(relative: str = DEFAULT_OUTPUT) -> Path:
    """The archive's absolute path (relative paths are from the repository root)."""
    path = Path(relative)
    return path if path.is_absolute() else REPO_ROOT / path


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies minus what Lambda and the layer provide."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    wanted = []
    for requirement in dependencies:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        if name not in PROVIDED:
            wanted.append(requirement)
    return wanted


def collect_files(roots: Iterable[Path], *, base: Path | None = None) -> list[tuple[str, Path]]:
    """(archive name, file) for every file under `roots`, sorted, caches left out.

    Names are relative to `base` (each root's parent when None), with `/` separators.
    """
    entries: dict[str, Path] = {}
    for root in roots:
        if not root.exists():
            raise ArchiveError(f"{root} does not exist")
        anchor = base or root.parent
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(anchor)
            if (path.is_dir() or any(part in EXCLUDED_DIRS for part in relative.parts)
                    or path.suffix in EXCLUDED_SUFFIXES):
                continue
            entries[relative.as_posix()] = path
    return sorted(entries.items())


def write_archive(output: Path, entries: Sequence[tuple[str, Path]]) -> BuiltArchive:
    """Write `entries` into a reproducible zip at `output`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=9) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permission bits below are honoured
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    temporary.replace(output)
    digest = hashlib.sha256(output.read_bytes()).digest()
    return BuiltArchive(output, len(entries), base64.b64encode(digest).decode(),
                        digest.hex())


def install_dependencies(target: Path, requirements: Sequence[str]) -> None:
    """Install `requirements` as Lambda (manylinux, CPython 3.12) wheels into `target`.

    Raises
    ------
    ArchiveError: when pip fails (the message holds pip's last lines).
    """
    target.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
               "--upgrade", "--target", str(target), "--platform", PLATFORM,
               "--python-version", PYTHON_VERSION, "--implementation", "cp",
               "--only-binary=:all:", *requirements]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise ArchiveError(f"pip could not install the Lambda dependencies:\n{tail}")


def build(output: Path, *, sources: Sequence[str] = SOURCES, deps_dir: Path | None = None,
          root: Path = REPO_ROOT) -> BuiltArchive:
    """Build the archive from `sources` (directories of `root`) and an installed deps dir."""
    entries = collect_files([root / source for source in sources], base=root)
    if deps_dir is not None:
        names = {name for name, _ in entries}
        for name, path in collect_files([deps_dir], base=deps_dir):
            if name not in names:  # the project's own modules win over a dependency's
                entries.append((name, path))
        entries.sort()
    return write_archive(output, entries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--deps-dir", default=DEFAULT_DEPS_DIR,
                        help="where the dependencies are installed (and cached)")
    parser.add_argument("--no-deps", action="store_true",
                        help="package the project's code only")
    parser.add_argument("--refresh-deps", action="store_true",
                        help="reinstall the dependencies even if the cache exists")
    options = parser.parse_args(argv)
    deps_dir = None
    try:
        if not options.no_deps:
            deps_dir = archive_path(options.deps_dir)
            if options.refresh_deps or not deps_dir.is_dir():
                install_dependencies(deps_dir, runtime_requirements())
        built = build(archive_path(options.output), deps_dir=deps_dir)
    except ArchiveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{built.path} files={built.files} sha256={built.sha256_hex}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
