"""The patch registry: every moto/Powertools patch listed once, named, version-guarded, and
the only place under infra/local that changes those libraries."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from collections import Counter
from pathlib import Path

import pytest

from infra.local import patches
from infra.local.patches import Patch, PatchSet, PatchVersionError, Requirement

LOCAL = Path(__file__).resolve().parents[3] / "infra" / "local"
PATCHES_DIR = LOCAL / "patches"
# Libraries whose internals only infra/local/patches may change.
PATCHED_LIBRARIES = ("moto", "aws_lambda_powertools", "jsonpath_ng")
MUTATING_METHODS = {"setdefault", "update", "__setitem__", "__setattr__", "__delattr__"}


# --- a source scan: who assigns attributes of moto / Powertools objects --------------------

def _library_names(tree: ast.AST) -> set[str]:
    """Names a module binds to moto / Powertools / jsonpath-ng objects by importing them."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PATCHED_LIBRARIES:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PATCHED_LIBRARIES:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _patching_nodes(tree: ast.AST) -> list[ast.AST]:
    """Statements and calls that change an attribute of an imported library object."""
    library = _library_names(tree)
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in library:
                found.append(node)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("setattr", "delattr") and node.args \
                    and _root(node.args[0]) in library:
                found.append(node)
            elif isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
                receiver = node.args[0] if func.attr in ("__setattr__", "__delattr__") \
                    and node.args else func.value
                if isinstance(receiver, (ast.Attribute, ast.Name)) and (
                        isinstance(receiver, ast.Attribute) or func.attr != "update") \
                        and _root(receiver) in library:
                    found.append(node)
    return found


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_nothing_outside_patches_changes_moto_or_powertools():
    offenders = []
    for path in sorted(LOCAL.rglob("*.py")):
        if PATCHES_DIR in path.parents:
            continue
        for node in _patching_nodes(_parse(path)):
            offenders.append(f"{path.relative_to(LOCAL.parents[1])}:{node.lineno}")
    assert offenders == [], "patch moto/Powertools only in infra/local/patches/"


def test_the_scan_sees_the_patches_it_polices():
    """The scan is not blind: it finds the assignments the patch modules make."""
    found = [node for path in PATCHES_DIR.glob("moto_*.py")
             for node in _patching_nodes(_parse(path))]
    assert len(found) >= 10


# --- the registry --------------------------------------------------------------------------

def _patch_modules() -> list[str]:
    return [f"infra.local.patches.{info.name}" for info in pkgutil.iter_modules([str(PATCHES_DIR)])
            if info.name not in ("registry", "host")]


def _patching_functions(module_name: str) -> set[str]:
    """Top-level functions of a patch module that change a library object."""
    module = importlib.import_module(module_name)
    tree = _parse(Path(module.__file__))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            if any(isinstance(inner, (ast.Assign, ast.Call, ast.AugAssign, ast.Delete))
                   and inner in _patching_nodes(tree) for inner in ast.walk(node)):
                names.add(f"{module_name.rsplit('.', 1)[-1]}.{node.name}")
    return names


def test_every_patch_is_listed_once():
    names = Counter(patches.PATCHES.names)
    assert [name for name, count in names.items() if count > 1] == []
    listed = set(names)
    for module_name in _patch_modules():
        module = importlib.import_module(module_name)
        assert all(patch in patches.PATCHES.patches for patch in module.PATCHES), module_name
        assert _patching_functions(module_name) <= listed, module_name
    assert len(patches.PATCHES.patches) == sum(
        len(importlib.import_module(name).PATCHES) for name in _patch_modules())


@pytest.mark.parametrize("patch", patches.PATCHES.patches, ids=lambda p: p.name)
def test_each_patch_names_its_target_versions_and_aws_page(patch: Patch):
    doc = " ".join((patch.install.__doc__ or "").split())
    assert patch.requires, patch.name
    for requirement in patch.requires:
        assert f"{requirement.distribution} {requirement}" in doc
    assert patch.aws_doc.startswith("https://docs.aws.amazon.com/")
    assert f"Follows: {patch.aws_doc}" in doc
    assert "Targets " in doc and "Why: " in doc


def test_moto_patches_target_the_pinned_minor():
    pinned = (LOCAL.parents[1] / "pyproject.toml").read_text()
    assert '"moto[server]>=5.2.5,<5.3"' in pinned
    moto = {requirement for patch in patches.PATCHES.patches for requirement in patch.requires
            if requirement.distribution == "moto"}
    assert moto == {Requirement("moto", "5.2.5", "5.3")}


def test_apply_is_idempotent():
    from moto.apigateway import urls as apigateway_urls
    from moto.dynamodb.models.table import Table
    from moto.events.models import Replay, Rule

    patches.apply()
    first = (Rule.send_to_targets, Replay.describe, Replay.replay_events, Table.query,
             dict(apigateway_urls.url_paths))
    patches.apply()
    patches.apply()
    assert (Rule.send_to_targets, Replay.describe, Replay.replay_events, Table.query,
            dict(apigateway_urls.url_paths)) == first
    assert patches.PATCHES.applied


def _counting_patches(calls: list[str]) -> list[Patch]:
    def first() -> None:
        """Targets moto >=5.2.5,<5.3."""
        calls.append("first")

    def second() -> None:
        """Targets aws-lambda-powertools >=3.37.0,<4."""
        calls.append("second")

    return [Patch(first, (Requirement("moto", "5.2.5", "5.3"),),
                  "https://docs.aws.amazon.com/eventbridge/latest/APIReference/Welcome.html"),
            Patch(second, (Requirement("aws-lambda-powertools", "3.37.0", "4"),),
                  "https://docs.aws.amazon.com/lambda/latest/dg/welcome.html")]


def test_a_patch_set_installs_each_patch_once():
    calls: list[str] = []
    versions = {"moto": "5.2.5", "aws-lambda-powertools": "3.37.0"}
    patch_set = PatchSet(_counting_patches(calls), version_of=versions.__getitem__)
    patch_set.apply()
    patch_set.apply()
    assert calls == ["first", "second"]


@pytest.mark.parametrize("moto_version", ["5.3.0", "5.2.4", "6.0.0", "5.1.9"])
def test_the_version_guard_refuses_an_untargeted_release(moto_version):
    calls: list[str] = []
    versions = {"moto": moto_version, "aws-lambda-powertools": "3.37.0"}
    patch_set = PatchSet(_counting_patches(calls), version_of=versions.__getitem__)
    with pytest.raises(PatchVersionError) as raised:
        patch_set.apply()
    message = str(raised.value)
    assert "first" in message and moto_version in message and ">=5.2.5,<5.3" in message
    assert raised.value.distribution == "moto" and raised.value.found == moto_version
    assert calls == []  # nothing installed when any patch is refused
    assert not patch_set.applied


@pytest.mark.parametrize("patch", patches.PATCHES.patches, ids=lambda p: p.name)
def test_every_real_patch_refuses_a_fake_next_major(patch: Patch):
    with pytest.raises(PatchVersionError, match=patch.name.replace(".", r"\.")):
        patch.check(lambda distribution: "99.0.0")


def test_a_missing_library_is_refused():
    from importlib.metadata import PackageNotFoundError

    def missing(distribution: str) -> str:
        raise PackageNotFoundError(distribution)

    with pytest.raises(PatchVersionError, match="not installed"):
        patches.PATCHES.patches[0].check(missing)


@pytest.mark.parametrize("version, admitted", [
    ("5.2.5", True), ("5.2.9", True), ("5.2.10", True), ("5.2.5.post1", True),
    ("5.2.4", False), ("5.3", False), ("5.3.0.dev1", False), ("5.10.0", False),
])
def test_requirement_ranges(version, admitted):
    assert Requirement("moto", "5.2.5", "5.3").admits(version) is admitted


def test_the_installed_libraries_are_the_targeted_ones():
    for patch in patches.PATCHES.patches:
        patch.check()
