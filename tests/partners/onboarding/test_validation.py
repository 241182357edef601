"""Endpoint URL validation (SSRF), filters and environment settings."""

from __future__ import annotations

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import (
    InvalidEndpointError,
    InvalidFilterError,
    InvalidSettingsError,
)
from partners.onboarding.filters import MAX_CONDITIONS, Operator, parse_filter
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    RetryPolicy,
)
from partners.onboarding.validation import (
    environment_errors,
    resolve_endpoint,
    secret_error,
    validate_endpoint_url,
    validate_environment,
)

PUBLIC = {"hooks.example.com": ["93.184.215.14"], "api.partner.io": ["2606:4700::6810:85e5"]}


def resolver_for(mapping):
    def resolve(hostname):
        if hostname not in mapping:
            raise OSError(f"no such host {hostname}")
        return mapping[hostname]

    return resolve


public = resolver_for(PUBLIC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.com/events", "https://hooks.example.com/events"),
        ("HTTPS://Hooks.Example.COM/events?x=1", "https://hooks.example.com/events?x=1"),
        ("https://hooks.example.com", "https://hooks.example.com/"),
        ("https://hooks.example.com:443/a", "https://hooks.example.com/a"),
        ("https://hooks.example.com:8443/a", "https://hooks.example.com:8443/a"),
        ("https://hooks.example.com./a", "https://hooks.example.com/a"),
        ("https://api.partner.io/v2/inbox", "https://api.partner.io/v2/inbox"),
    ],
)
def test_accepts_and_normalises_public_https_urls(url, expected):
    assert validate_endpoint_url(url, resolver=public) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/", "scheme must be https"),
        ("ftp://hooks.example.com/", "scheme must be https"),
        ("hooks.example.com/path", "scheme must be https"),
        ("", "required"),
        ("https://user:pw@hooks.example.com/", "credentials in the URL"),
        ("https://user@hooks.example.com/", "credentials in the URL"),
        ("https://hooks.example.com/#frag", "fragments"),
        ("https://hooks.example.com/a b", "white space"),
        ("https://hooks.example.com:22/", "port 22"),
        ("https://hooks.example.com:80/", "port 80"),
        ("https://hooks.example.com:99999/", "not a valid URL"),
        ("https://127.0.0.1/", "IP address literals"),
        ("https://93.184.215.14/", "IP address literals"),
        ("https://2130706433/", "IP address literals"),  # decimal 127.0.0.1
        ("https://0177.0.0.1/", "IP address literals"),  # octal
        ("https://0x7f.0.0.1/", "IP address literals"),  # hex
        ("https://0x7f000001/", "IP address literals"),
        ("https://127.1/", "IP address literals"),  # short form
        ("https://10.1/", "IP address literals"),
        ("https://[::1]/", "IP address literals"),
        ("https://[::ffff:127.0.0.1]/", "IP address literals"),  # IPv4-mapped IPv6
        ("https://[::ffff:7f00:1]/", "IP address literals"),
        ("https://[fd00:ec2::254]/", "IP address literals"),
        ("https://localhost/", "not a fully qualified"),
        ("https://under_score.example.com/", "not a valid DNS name"),
        ("https://-bad.example.com/", "not a valid DNS name"),
        ("https://" + "a" * 64 + ".example.com/", "not a valid DNS name"),
        ("https://example.123/", "numeric top-level label"),
        ("https://nowhere.example.com/", "does not resolve"),
    ],
)
def test_refuses_bad_urls_with_the_reason(url, reason):
    with pytest.raises(InvalidEndpointError) as caught:
        validate_endpoint_url(url, resolver=public)
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["10.0.0.5"], "private"),
        (["172.16.3.4"], "private"),
        (["192.168.1.1"], "private"),
        (["127.0.0.1"], "loopback"),
        (["::1"], "loopback"),
        (["169.254.169.254"], "metadata"),
        (["169.254.10.10"], "link-local"),
        (["fe80::1"], "link-local"),
        (["fd00:ec2::254"], "metadata"),
        (["fc00::1"], "private"),
        (["100.64.0.1"], "carrier-grade NAT"),
        (["100.100.100.200"], "metadata"),
        (["224.0.0.1"], "multicast"),
        (["0.0.0.0"], "unspecified"),
        (["240.0.0.1"], "reserved"),
        (["::ffff:10.0.0.1"], "private"),
        (["2002:0a00:0001::1"], "private"),  # 6to4 wrapping 10.0.0.1
        (["93.184.215.14", "10.0.0.1"], "private"),  # one bad address is enough
        (["not-an-ip"], "not an address"),
        ([], "does not resolve"),
    ],
)
def test_refuses_hostnames_resolving_to_internal_addresses(addresses, reason):
    resolver = resolver_for({"evil.example.com": addresses})
    with pytest.raises(InvalidEndpointError) as caught:
        validate_endpoint_url("https://evil.example.com/hook", resolver=resolver)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8002/deliveries", "http://127.0.0.1:8002/deliveries"),
        ("http://localhost:8002/x", "http://localhost:8002/x"),
        ("http://[::1]:8002/x", "http://[::1]:8002/x"),
        ("http://hooks.example.com:8080/", "http://hooks.example.com:8080/"),
    ],
)
def test_insecure_mode_allows_http_and_loopback(url, expected):
    resolver = resolver_for({**PUBLIC, "localhost": ["127.0.0.1"]})
    assert validate_endpoint_url(url, allow_insecure=True, resolver=resolver) == expected


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1:8002/", "http://169.254.169.254/latest/meta-data", "http://0x7f.1:8002/x"],
)
def test_insecure_mode_still_refuses_internal_addresses(url):
    with pytest.raises(InvalidEndpointError):
        validate_endpoint_url(url, allow_insecure=True, resolver=public)


def test_insecure_mode_refuses_hostnames_resolving_to_private_ranges():
    resolver = resolver_for({"intranet.example.com": ["192.168.0.10"]})
    with pytest.raises(InvalidEndpointError, match="private"):
        validate_endpoint_url("http://intranet.example.com:8080/", allow_insecure=True,
                              resolver=resolver)


# --- filters ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ("nope", "filter", "an object"),
        ({"request_types": []}, "request_types", "at least one request type"),
        ({"request_types": ["*", "stock.check"]}, "request_types[0]", "stand alone"),
        ({"request_types": ["Stock Check"]}, "request_types[0]", "lower-case"),
        ({"colour": 1}, "filter", "unknown keys"),
        ({"conditions": [{"attribute": "region", "operator": "like", "values": ["x"]}]},
         "conditions[0].operator", "unknown operator 'like'"),
        ({"conditions": [{"attribute": "region", "operator": "any_of", "values": []}]},
         "conditions[0].values", "at least one value"),
        ({"conditions": [{"attribute": "region", "operator": "prefix", "values": [""]}]},
         "conditions[0].values[0]", "Enter non-empty text for 'starts with'"),
        ({"conditions": [{"attribute": "amount", "operator": "between", "values": [5]}]},
         "conditions[0].values", "Enter two numbers for 'between'"),
        ({"conditions": [{"attribute": "amount", "operator": "between", "values": [9, 1]}]},
         "conditions[0].values", "lower number first"),
        ({"conditions": [{"attribute": "amount", "operator": "greater_than",
                          "values": ["5"]}]}, "conditions[0].values", "Enter one number for 'greater than'"),
        ({"conditions": [{"attribute": "amount", "operator": "less_than",
                          "values": [True]}]}, "conditions[0].values", "Enter one number for 'less than'"),
        ({"conditions": [{"attribute": "vip", "operator": "exists", "values": [1]}]},
         "conditions[0].values", "'is present' takes no values"),
        ({"conditions": [{"attribute": "a.b", "operator": "exists"}]},
         "conditions[0].attribute", "An attribute name is"),
        ({"conditions": [{"attribute": "x", "operator": "any_of", "values": [{"a": 1}]}]},
         "conditions[0].values[0]", "text or a number"),
    ],
)
def test_filter_errors_name_the_field(data, field, message):
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter(data)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_filter_round_trips_through_its_json_form():
    data = {"request_types": ["stock.check", "price.quote", "stock.check"],
            "conditions": [{"attribute": "region", "operator": "prefix", "values": ["eu-"]},
                           {"attribute": "vip", "operator": "exists", "values": []}]}
    parsed = parse_filter(data)
    assert parsed.request_types == ("stock.check", "price.quote")
    assert parsed.conditions[0].operator is Operator.PREFIX
    assert parse_filter(parsed.to_dict()) == parsed


# --- environments ----------------------------------------------------------------------

def push_env(**changes):
    values = dict(name="prod", mode=DeliveryMode.PUSH, endpoint_url="https://Hooks.example.com/in",
                  auth=EndpointAuth(AuthType.API_KEY, header_name="x-api-key"))
    values.update(changes)
    return PartnerEnvironment(**values)


def test_valid_push_environment_is_normalised():
    env = validate_environment(push_env(), allowed_names=["prod", "test"], resolver=public)
    assert env.endpoint_url == "https://hooks.example.com/in"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "staging"}, "name"),
        ({"rate_limit_per_second": 0}, "rate_limit_per_second"),
        ({"rate_limit_per_second": 301}, "rate_limit_per_second"),
        ({"retry_policy": RetryPolicy(59, 3)}, "maximum_event_age_seconds"),
        ({"retry_policy": RetryPolicy(86_401, 3)}, "maximum_event_age_seconds"),
        ({"retry_policy": RetryPolicy(600, 186)}, "maximum_retry_attempts"),
        ({"endpoint_url": None}, "endpoint_url"),
        ({"endpoint_url": "http://hooks.example.com/"}, "endpoint_url"),
        ({"auth": None}, "auth_type"),
        ({"auth": EndpointAuth(AuthType.API_KEY, header_name="bad header")}, "header_name"),
        ({"auth": EndpointAuth(AuthType.BASIC)}, "username"),
        ({"auth": EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c",
                               token_url="https://10.0.0.1/token")}, "token_url"),
        ({"auth": EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS,
                               token_url="https://hooks.example.com/token")}, "client_id"),
    ],
)
def test_bad_environment_settings_name_the_field(changes, field):
    with pytest.raises(ValidationError) as caught:
        validate_environment(push_env(**changes), allowed_names=["prod", "test"],
                             resolver=public)
    assert caught.value.field == field


def test_poll_environment_needs_no_endpoint():
    env = PartnerEnvironment(name="test", mode=DeliveryMode.POLL)
    assert validate_environment(env, allowed_names=["test"]) is env


def test_every_filter_problem_is_collected_in_a_partners_words():
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter({"request_types": ["Stock Check", "price.quote"], "conditions": [
            {"attribute": "amount", "operator": "greater_than", "values": [1, 2]},
            {"attribute": "region", "operator": "prefix", "values": ["eu-"]},
            {"attribute": "a.b", "operator": "between", "values": [9, 1]}]})
    found = [(error.field, error.message) for error in caught.value.errors]
    assert [field for field, _ in found] == [
        "request_types[0]", "conditions[0].values", "conditions[2].attribute",
        "conditions[2].values"]
    assert found[1][1] == "Enter one number for 'greater than'."
    assert "greater_than" not in str(caught.value) and "Stock Check" in str(caught.value)


def test_more_conditions_than_the_maximum_are_refused_not_cut():
    conditions = [{"attribute": f"a{i}", "operator": "exists"} for i in range(MAX_CONDITIONS + 1)]
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter({"conditions": conditions})
    assert caught.value.field == "conditions"
    assert f"at most {MAX_CONDITIONS} conditions; this one has {MAX_CONDITIONS + 1}" in str(
        caught.value)
    assert len(parse_filter({"conditions": conditions[:MAX_CONDITIONS]}).conditions) == 20


def test_every_refused_setting_is_collected():
    oauth = EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS)  # no client id, no token URL
    env = push_env(rate_limit_per_second=0, endpoint_url="https://internal.example.com/x",
                   auth=oauth)
    _, errors = environment_errors(env, allowed_names=["prod"], resolver=public)
    assert [error.field for error in errors] == [
        "rate_limit_per_second", "endpoint_url", "client_id", "token_url"]
    assert "token URL" in errors[-1].message
    with pytest.raises(InvalidSettingsError) as caught:
        validate_environment(env, allowed_names=["prod"], resolver=public)
    assert [error.field for error in caught.value.errors] == [e.field for e in errors]


def test_an_empty_oauth_token_url_is_flagged():
    env = push_env(auth=EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c"))
    with pytest.raises(ValidationError) as caught:
        validate_environment(env, allowed_names=["prod"], resolver=public)
    assert caught.value.field == "token_url" and "Enter the token URL" in caught.value.message


@pytest.mark.parametrize("secret", ["abc\r\nX-Injected: 1", "tab\there", "nul\x00", "del\x7f",
                                    "c1\x85"])
def test_a_secret_with_control_characters_is_refused_without_quoting_it(secret):
    error = secret_error(secret)
    assert error is not None and error.field == "secret"
    assert secret not in error.message and secret.strip() not in error.message
    assert secret_error("an ordinary-Secret_value/with+symbols=") is None


@pytest.mark.parametrize("auth, field", [
    (EndpointAuth(AuthType.BASIC, username="acme\r\nX: 1"), "username"),
    (EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c\n",
                  token_url="https://hooks.example.com/t"), "client_id"),
])
def test_control_characters_in_auth_settings_are_refused(auth, field):
    with pytest.raises(ValidationError) as caught:
        validate_environment(push_env(auth=auth), allowed_names=["prod"], resolver=public)
    assert caught.value.field == field


def test_resolve_endpoint_names_the_checked_address():
    target = resolve_endpoint("https://Hooks.example.com:8443/in?x=1", resolver=public)
    assert (target.url, target.host, target.port, target.address) == (
        "https://hooks.example.com:8443/in?x=1", "hooks.example.com", 8443, "93.184.215.14")
    local = resolve_endpoint("http://localhost:8002/x", allow_insecure=True)
    assert (local.host, local.port, local.address) == ("localhost", 8002, "127.0.0.1")
