"""One wiring for every handler: built on first use, once per execution environment, one seam."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from handlers.api import require_portal
from handlers.problems import ProblemError
from handlers.wiring import Wiring
from infra.local.runtime.environments import forget_module_copy, load_module_copy
from partners.notifications import ContactNotFoundError
from tests.handlers.gateway import LambdaContext, proxy_event

ROOT = Path(__file__).resolve().parents[2]
# Every module infra/spec.py names as a function's handler, and the router they include.
HANDLER_MODULES = ("handlers.partner_api", "handlers.portal_api", "handlers.projector",
                   "handlers.authorizer", "handlers.routing_recorder", "handlers.notifier",
                   "handlers.reconciler", "handlers.console")


class Builder:
    def __init__(self, *failures: Exception):
        self.calls = 0
        self.failures = list(failures)

    def __call__(self) -> dict[str, int]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"built": self.calls}


def test_builds_on_first_use_then_keeps_it():
    build = Builder()
    wiring = Wiring(build)
    assert build.calls == 0 and not wiring.built
    first = wiring.get()
    assert wiring.get() is first and build.calls == 1 and wiring.built


def test_a_failed_build_keeps_nothing_and_the_next_use_builds_again():
    build = Builder(KeyError("PGW_REQUESTS_TABLE"))
    wiring = Wiring(build)
    with pytest.raises(KeyError, match="PGW_REQUESTS_TABLE"):
        wiring.get()
    assert not wiring.built
    assert wiring.get() == {"built": 2}


def test_concurrent_first_uses_build_once():
    build = Builder()
    wiring = Wiring(build)
    barrier = threading.Barrier(8)
    seen = []

    def use():
        barrier.wait()
        seen.append(wiring.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert build.calls == 1 and all(value is seen[0] for value in seen)


def test_override_replaces_then_restores_nothing_built():
    build = Builder()
    wiring = Wiring(build)
    with wiring.override({"fake": 1}) as value:
        assert value == {"fake": 1} and wiring.get() is value
    assert build.calls == 0 and not wiring.built
    assert wiring.get() == {"built": 1}


def test_override_restores_what_was_built_and_nests():
    wiring = Wiring(Builder())
    built = wiring.get()
    with wiring.override("outer"):
        with wiring.override("inner"):
            assert wiring.get() == "inner"
        assert wiring.get() == "outer"
    assert wiring.get() is built


def test_override_without_a_value_builds_afresh_inside_then_restores():
    build = Builder()
    wiring = Wiring(build)
    before = wiring.get()
    with wiring.override() as value:
        assert value is None and not wiring.built
        inside = wiring.get()
        assert inside == {"built": 2} and wiring.get() is inside
    assert wiring.get() is before and build.calls == 2


def test_override_restores_after_an_error():
    wiring = Wiring(Builder())
    with pytest.raises(RuntimeError):
        with wiring.override("fake"):
            raise RuntimeError("test failed")
    assert not wiring.built


def test_handler_modules_import_without_settings_or_region():
    """Importing a handler builds nothing: no `PGW_*` variable, no region, no credentials."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PGW_", "AWS_", "FLASK_"))}
    probe = ("import importlib, sys\n"
             "from handlers.wiring import Wiring\n"
             f"for name in {HANDLER_MODULES!r}:\n"
             "    module = importlib.import_module(name)\n"
             "    assert isinstance(module.dependencies, Wiring), name\n"
             "    assert not module.dependencies.built, name\n"
             "    assert not hasattr(module, 'reset') and not hasattr(module, 'deps'), name\n"
             "import handlers.portal_contacts, handlers.rebuild_projections, "
             "handlers.replay_cli\n"
             "print('imported')\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "imported"


def test_the_first_invocation_builds_and_names_a_missing_setting(monkeypatch):
    """A fresh environment (a module copy: nothing built) fails its first invocation, not
    its import, when a setting is missing; the error names the variable."""
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.delenv("PGW_REQUEST_EVENTS_TABLE", raising=False)
    copy = load_module_copy("handlers.routing_recorder")
    try:
        assert not copy.dependencies.built
        with pytest.raises(KeyError, match="PGW_REQUEST_EVENTS_TABLE"):
            copy.lambda_handler({}, LambdaContext())
        assert not copy.dependencies.built
    finally:
        forget_module_copy("handlers.routing_recorder", copy)


@pytest.mark.parametrize("module_name", ["handlers.partner_api", "handlers.portal_api",
                                         "handlers.notifier"])
def test_each_execution_environment_copy_has_its_own_dependencies(module_name):
    """The embedded stack runs a further environment as a copy of the handler module."""
    import importlib

    module = importlib.import_module(module_name)
    copy = load_module_copy(module_name)
    try:
        assert copy.dependencies is not module.dependencies
        with copy.dependencies.override("the copy's"):
            assert copy.dependencies.get() == "the copy's"
            with module.dependencies.override("the module's"):
                assert copy.dependencies.get() == "the copy's"
                assert module.dependencies.get() == "the module's"
    finally:
        forget_module_copy(module_name, copy)


class NamedContactStore:
    """A contact store that knows no one and says whose it is."""

    def __init__(self, name: str):
        self.name = name

    def get(self, user_id: str):
        raise ContactNotFoundError(f"{user_id}@{self.name}")


def test_each_portal_copy_serves_contacts_from_its_own_store():
    """The contact routes are included per resolver: each environment reads its own store."""
    import handlers.portal_api as module

    copy = load_module_copy("handlers.portal_api")
    event = proxy_event("GET", "/v1/portal/users/u-1/contact",
                        authorizer={"principal": "portal"})
    try:
        with module.dependencies.override(SimpleNamespace(contacts=NamedContactStore("a"))), \
                copy.dependencies.override(SimpleNamespace(contacts=NamedContactStore("b"))):
            answers = [json.loads(m.lambda_handler(event, LambdaContext())["body"])["detail"]
                       for m in (module, copy, module)]
    finally:
        forget_module_copy("handlers.portal_api", copy)
    assert answers == [f"no contact details for user u-1@{name}" for name in "aba"]


@pytest.mark.parametrize("context, problem", [
    ({"identity": {"userArn": "arn:aws:iam::123456789012:role/portal"}}, None),
    ({"authorizer": {"principal": "portal"}}, None),
    ({"authorizer": {"partner_id": "p1", "environment": "prod"}}, "forbidden"),
    ({"authorizer": {"principal": "someone"}}, "forbidden"),
    ({}, "unauthorized"),
    (None, "unauthorized"),
])
def test_require_portal(context, problem):
    event = {"requestContext": context}
    if problem is None:
        require_portal(event)
        return
    with pytest.raises(ProblemError) as caught:
        require_portal(event)
    assert caught.value.slug == problem
