"""The Lambda archive: reproducible bytes, the right files, the right dependencies."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infra.build_lambda import (
    FIXED_TIME,
    ArchiveError,
    build,
    collect_files,
    main,
    runtime_requirements,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for relative, text in {
        "handlers/__init__.py": "",
        "handlers/api.py": "def lambda_handler(event, context):\n    return {}\n",
        "handlers/openapi/api.json": "{}",
        "handlers/__pycache__/api.cpython-312.pyc": "bytecode",
        "partners/__init__.py": "",
        "partners/models.py": "X = 1\n",
        "partners/stale.pyc": "bytecode",
        "tests/test_x.py": "assert False\n",
    }.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_two_builds_are_byte_identical(tree: Path, tmp_path: Path) -> None:
    first = build(tmp_path / "a.zip", sources=("handlers", "partners"), root=tree)
    # A touched file (new mtime, same content) changes nothing.
    (tree / "partners" / "models.py").write_text("X = 1\n")
    second = build(tmp_path / "b.zip", sources=("handlers", "partners"), root=tree)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256_base64 == second.sha256_base64 and first.files == 5


def test_a_changed_file_changes_the_hash(tree: Path, tmp_path: Path) -> None:
    first = build(tmp_path / "a.zip", sources=("handlers", "partners"), root=tree)
    (tree / "partners" / "models.py").write_text("X = 2\n")
    second = build(tmp_path / "b.zip", sources=("handlers", "partners"), root=tree)
    assert first.sha256_hex != second.sha256_hex


def test_entries_are_sorted_dated_1980_and_free_of_caches(tree: Path, tmp_path: Path) -> None:
    built = build(tmp_path / "a.zip", sources=("handlers", "partners"), root=tree)
    with zipfile.ZipFile(built.path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert names == ["handlers/__init__.py", "handlers/api.py", "handlers/openapi/api.json",
                     "partners/__init__.py", "partners/models.py"]
    assert {info.date_time for info in infos} == {FIXED_TIME}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_dependencies_are_added_and_never_shadow_the_project(tree: Path, tmp_path: Path) -> None:
    deps = tmp_path / "deps"
    (deps / "jsonschema").mkdir(parents=True)
    (deps / "jsonschema" / "__init__.py").write_text("")
    (deps / "partners").mkdir()
    (deps / "partners" / "models.py").write_text("X = 'from a dependency'\n")
    built = build(tmp_path / "a.zip", sources=("handlers", "partners"), deps_dir=deps, root=tree)
    with zipfile.ZipFile(built.path) as archive:
        assert archive.read("partners/models.py") == b"X = 1\n"
        assert "jsonschema/__init__.py" in archive.namelist()


def test_a_missing_source_is_an_error(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="console"):
        collect_files([tree / "console"])


def test_runtime_requirements_leave_out_what_lambda_and_the_layer_provide(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["boto3>=1.35", '
                         '"aws-lambda-powertools[tracer]>=3", "jsonschema>=4", "Flask_Login>=0.6"]\n')
    assert runtime_requirements(pyproject) == ["jsonschema>=4", "Flask_Login>=0.6"]
    assert not any(r.startswith(("boto3", "aws-lambda-powertools"))
                   for r in runtime_requirements())


def test_the_command_builds_the_project_without_dependencies(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "lambda.zip"
    assert main(["--no-deps", "--output", str(output)]) == 0
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
    assert "partners/core/constants.py" in names and "handlers/__init__.py" in names
    assert not any("__pycache__" in name for name in names)
    assert f"{output} files=" in capsys.readouterr().out


def test_every_function_handler_is_in_the_archive(tmp_path: Path) -> None:
    from infra.spec import stage_spec

    built = build(tmp_path / "lambda.zip")
    with zipfile.ZipFile(built.path) as archive:
        for function in stage_spec("dev").functions.values():
            module, _, name = function.handler.rpartition(".")
            source = archive.read(module.replace(".", "/") + ".py").decode()
            assert f"def {name}(" in source or f"{name} = " in source, function.handler
