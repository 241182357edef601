"""What a patch is: a named change to a library's internals, and the versions it was made for.

A patch replaces a method (or a module attribute) of moto or Powertools, so it is only right
for the releases whose internals it was read against. Each `Patch` names those releases
(`Requirement`); `PatchSet.apply` checks every one before it installs anything, and refuses
with `PatchVersionError` (naming the patch and the version it found) when a library moved on:
an upgrade then shows exactly which patch to re-read.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Callable, Iterable

# The installed version of a distribution ("moto" -> "5.2.5"); tests pass a fake one.
VersionOf = Callable[[str], str]


class PatchVersionError(RuntimeError):
    """A patched library is not the version the patch was written for."""

    def __init__(self, patch: str, distribution: str, found: str | None, wanted: str):
        found_text = found if found is not None else "not installed"
        super().__init__(
            f"patch {patch!r} targets {distribution} {wanted}, found {found_text}: read the "
            f"patch in infra/local/patches against the new release before widening its range")
        self.patch = patch
        self.distribution = distribution
        self.found = found
        self.wanted = wanted


def release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string (`5.2.5` -> (5, 2, 5); `5.3.0.dev1` -> (5, 3, 0))."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    if match is None:
        raise ValueError(f"not a version: {version!r}")
    return tuple(int(part) for part in match.group(0).split("."))


def _padded(parts: tuple[int, ...], size: int) -> tuple[int, ...]:
    return parts + (0,) * (size - len(parts))


@dataclass(frozen=True)
class Requirement:
    """Releases of one distribution a patch was read against: `minimum <= version < below`."""

    distribution: str
    minimum: str
    below: str

    def __str__(self) -> str:
        return f">={self.minimum},<{self.below}"

    def admits(self, version: str) -> bool:
        found, low, high = release(version), release(self.minimum), release(self.below)
        size = max(len(found), len(low), len(high))
        return _padded(low, size) <= _padded(found, size) < _padded(high, size)


def installed_version(distribution: str) -> str:
    """The installed version of `distribution` (importlib.metadata)."""
    return metadata.version(distribution)


@dataclass(frozen=True)
class Patch:
    """One named patch: the function that installs it, what it targets, the page it follows.

    `install` is called once per process (by `PatchSet.apply`); its docstring says which
    library internals it replaces, what AWS does there and why moto or Powertools does not.
    """

    install: Callable[[], object]
    requires: tuple[Requirement, ...]
    aws_doc: str

    @property
    def name(self) -> str:
        return f"{self.install.__module__.rsplit('.', 1)[-1]}.{self.install.__name__}"

    def check(self, version_of: VersionOf = installed_version) -> None:
        """Refuse a library outside the targeted releases.

        Raises:
            PatchVersionError: a required distribution is missing or outside its range.
        """
        for requirement in self.requires:
            try:
                found: str | None = version_of(requirement.distribution)
            except metadata.PackageNotFoundError:
                found = None
            if found is None or not requirement.admits(found):
                raise PatchVersionError(self.name, requirement.distribution, found,
                                        str(requirement))


class PatchSet:
    """Patches applied together, once per process (idempotent, thread-safe).

    Every patch's versions are checked before the first one is installed, so a refused
    upgrade leaves the libraries untouched.
    """

    def __init__(self, patches: Iterable[Patch], *,
                 version_of: VersionOf = installed_version):
        self.patches = tuple(patches)
        self._version_of = version_of
        self._lock = threading.Lock()
        self._installed: set[int] = set()  # positions in `patches`: never installed twice
        self._applied = False

    @property
    def applied(self) -> bool:
        return self._applied

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(patch.name for patch in self.patches)

    def apply(self) -> None:
        """Check every patch's versions, then install each patch (the first call only).

        Raises:
            PatchVersionError: a library is outside a patch's range (nothing is installed).
        """
        with self._lock:
            if self._applied:
                return
            for patch in self.patches:
                patch.check(self._version_of)
            for position, patch in enumerate(self.patches):
                if position not in self._installed:
                    patch.install()
                    self._installed.add(position)
            self._applied = True


# The releases the patches in this package were read against.
# moto: pinned to one minor in pyproject.toml (`moto[server]>=5.2.5,<5.3`).
MOTO_5_2 = Requirement("moto", "5.2.5", "5.3")
# Powertools: read against 3.37.0 (installed); the whole 3.x line keeps BaseRouter's shape,
# which `powertools.isolate_router_state` checks again before it changes anything.
POWERTOOLS_3 = Requirement("aws-lambda-powertools", "3.37.0", "4")
# jsonpath-ng: what moto 5.2's EventTemplateParser parses input paths with (1.16.0 installed).
JSONPATH_NG_1 = Requirement("jsonpath-ng", "1.16.0", "2")
