"""The stage spec: one list of names and shapes, parameterised by stage."""

from __future__ import annotations

import re

import pytest

from infra.spec import stage_spec
from partners.core.constants import Env, endpoint_secret_name, partner_resource_name


@pytest.mark.parametrize("stage", ["local", "dev", "staging", "prod"])
def test_every_name_is_prefixed_by_the_stage(stage):
    spec = stage_spec(stage)
    names = ([t.name for t in spec.tables.values()] + [b.name for b in spec.buckets.values()]
             + [q.name for q in spec.queues.values()] + [t.name for t in spec.topics.values()]
             + [f.name for f in spec.functions.values()] + [spec.bus_name, spec.archive_name])
    assert all(name.startswith(f"pgw-{stage}-") for name in names)
    assert len(names) == len(set(names))


def test_two_stages_share_no_name():
    dev, prod = stage_spec("dev"), stage_spec("prod")
    assert not {t.name for t in dev.tables.values()} & {t.name for t in prod.tables.values()}
    assert not prod.partner_resource_name("p1", "prod").startswith(dev.partner_resource_prefix)


@pytest.mark.parametrize("stage", ["", "Prod", "a", "way-too-long-stage-name", "dev_1"])
def test_refuses_bad_stage_names(stage):
    with pytest.raises(ValueError):
        stage_spec(stage)


def test_partner_resource_names_fit_eventbridge_limits():
    spec = stage_spec("staging")
    name = spec.partner_resource_name("p" + "x" * 11, "a" * 16)
    assert len(name) <= 64 and re.fullmatch(r"[\.\-_A-Za-z0-9]+", name)
    assert name == partner_resource_name(spec.partner_resource_prefix, "p" + "x" * 11, "a" * 16)
    assert spec.endpoint_secret_name("p1", "prod") == endpoint_secret_name(
        spec.secret_prefix, "p1", "prod") == "pgw/staging/partners/p1/prod/endpoint-auth"


def test_environment_variables_name_every_table_and_bucket():
    spec = stage_spec("dev")
    variables = spec.environment_variables()
    for table in spec.tables.values():
        assert variables[table.env_var] == table.name
    for bucket in spec.buckets.values():
        assert variables[bucket.env_var] == bucket.name
    assert variables[Env.BUS_NAME] == "pgw-dev-marketplace"
    assert variables[Env.PARTNER_ENVIRONMENTS] == "prod,test,dev"


def test_functions_only_name_tables_that_exist():
    spec = stage_spec("dev")
    for function in spec.functions.values():
        assert set(function.tables) <= set(spec.tables), function.logical


def test_table_attributes_cover_keys_and_indexes_once():
    spec = stage_spec("dev")
    partners = spec.tables["partners"]
    assert [a.name for a in partners.attributes] == ["pk", "sk", "status", "created_at"]
    assert spec.tables["request_events"].range_key.type == "N"
    assert spec.tables["request_events"].stream == "NEW_IMAGE"


def test_stage_provisions_into_moto(stage, aws):
    dynamodb = aws.client("dynamodb")
    tables = set(dynamodb.list_tables()["TableNames"])
    assert {t.name for t in stage.spec.tables.values()} <= tables
    events_table = dynamodb.describe_table(TableName=stage.spec.tables["request_events"].name)
    assert events_table["Table"]["StreamSpecification"]["StreamViewType"] == "NEW_IMAGE"
    assert "request_events" in stage.stream_arns
    assert aws.client("events").describe_event_bus(Name=stage.spec.bus_name)["Name"]
    assert set(stage.queue_urls) == set(stage.spec.queues)


def test_console_sessions_table_expires_by_ttl_and_only_the_console_reaches_it(stage, aws):
    """Issue 14 items 5 and 7: one shared table for sign-ins and login counters."""
    table = stage.spec.tables["console_sessions"]
    assert table.env_var == Env.CONSOLE_SESSIONS_TABLE and table.ttl_attribute == "expires_at"
    assert stage.spec.environment_variables()[Env.CONSOLE_SESSIONS_TABLE] == table.name
    assert [f.logical for f in stage.spec.functions.values()
            if "console_sessions" in f.tables] == ["console"]
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=table.name)
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED",
                                            "AttributeName": "expires_at"}
