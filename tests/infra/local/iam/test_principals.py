"""Each function's clients sign with its own credentials, as a Lambda's execution role's do.

https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
"""

from __future__ import annotations

import threading

import boto3
import pytest

from infra.local import iam
from infra.local.iam.principals import Principal, Principals


@pytest.fixture()
def principal(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "operator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    calls = []
    registered = iam.PRINCIPALS.register(Principal(
        "pgw-test-fn", "pgw-test-fn-role", "123456789012",
        lambda: calls.append(1) or [{"Effect": "Allow", "Action": "*", "Resource": "*"}]))
    iam.install_credential_hooks()
    registered.calls = calls
    yield registered
    iam.PRINCIPALS.clear()


def _key(client) -> str:
    return client._request_signer._credentials.access_key


def test_a_client_made_as_a_function_signs_with_its_key(principal):
    with iam.acting_as("pgw-test-fn"):
        inside = boto3.session.Session().client("sqs")
    outside = boto3.session.Session().client("sqs")
    assert _key(inside) == principal.access_key == iam.access_key_for("pgw-test-fn")
    assert principal.access_key.startswith("ASIA") and len(principal.access_key) == 20
    assert _key(outside) == "operator"


def test_explicit_credentials_are_kept(principal):
    with iam.acting_as("pgw-test-fn"):
        client = boto3.session.Session(aws_access_key_id="given",
                                       aws_secret_access_key="given").client("sqs")
    assert _key(client) == "given"


def test_a_thread_started_as_a_function_runs_as_it(principal):
    seen = []

    def work():
        seen.append(iam.current())

    with iam.acting_as("pgw-test-fn"):
        inside = threading.Thread(target=work)
        inside.start()
    outside = threading.Thread(target=work)
    outside.start()
    inside.join(5)
    outside.join(5)
    assert seen.count(principal) == 1 and seen.count(None) == 1


def test_a_function_without_a_principal_runs_as_the_operator(principal):
    with iam.acting_as("unknown-fn") as acting:
        client = boto3.session.Session().client("sqs")
    assert acting is None and _key(client) == "operator"


def test_a_wsgi_app_runs_each_request_as_its_function(principal):
    seen = []

    def app(environ, start_response):
        seen.append(iam.current())
        return [b""]

    iam.acting_app(app, "pgw-test-fn")({}, lambda *a: None)
    assert seen == [principal]


def test_statements_are_resolved_once(principal):
    assert principal.statements == principal.statements
    assert principal.calls == [1]


def test_re_registering_a_function_replaces_its_key():
    principals = Principals()
    first = principals.register(Principal("f", "r", "1", list, access_key="ASIAFIRST"))
    second = principals.register(Principal("f", "r", "1", list))
    assert principals.by_key("ASIAFIRST") is None and principals.by_function("f") is second
    assert first is not second and len(principals) == 1


def test_the_stage_registers_every_function_with_its_roles_statements():
    """Each function of the spec is a principal; one without a role is refused everything."""
    from dataclasses import replace

    from infra.spec import FunctionSpec, stage_spec

    spec = stage_spec("local")
    spec = replace(spec, functions={**spec.functions, "stray": FunctionSpec(
        "stray", "pgw-local-stray", "handlers.stray.lambda_handler")})
    asked = []

    def resolver(role, context):
        asked.append((role, context.account, context.ids.get("usage_plan")))
        return [{"Sid": role}]

    try:
        principals = iam.register_stage(spec, region="us-east-1", account="123456789012",
                                        ids={"usage_plan": "up1"}, resolver=resolver)
        by_function = {p.function: p for p in principals}
        assert set(by_function) == {f.name for f in spec.functions.values()}
        reconciler = by_function["pgw-local-reconciler"]
        assert reconciler.role == "pgw-local-reconciler-fn"
        assert reconciler.statements == ({"Sid": "reconciler"},)
        assert ("reconciler", "123456789012", "up1") in asked
        assert by_function["pgw-local-stray"].statements == ()
        assert iam.PRINCIPALS.by_key(reconciler.access_key) is reconciler
    finally:
        iam.unregister_all()
    assert iam.PRINCIPALS.by_function("pgw-local-reconciler") is None
