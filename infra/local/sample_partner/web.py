"""The sample partner's web pages: the delivery endpoint, `/received`, `/mode` and `/`."""

from __future__ import annotations

import time
from typing import Any, Mapping

import requests
from flask import Flask, jsonify, redirect, render_template_string, request

from infra.local.sample_partner.deliveries import (
    DELIVERY_PATH,
    HOOK_NAME,
    HOOK_PATH,
    HookTokenError,
    ModeError,
)
from infra.local.sample_partner.oauth import TokenSettingsError
from infra.local.ses_messages import SES_PATH
from infra.local.sns_messages import EMAIL_PATH, SMS_PATH


def create_app(partner: Any) -> Flask:
    """The web app of `partner` (a `SamplePartner`, which builds it with `create_app(self)`):
    deliveries in, what it received out, its mode switch."""
    # The package's name, as the app always had (`infra.local.sample_partner`).
    app = Flask(__package__)

    def refusal():
        """The answer of the current failure mode, or None in mode `ok`."""
        mode = partner.mode()["mode"]
        if mode == "ok":
            return None
        partner.count_refusal()
        if mode == "fail500":
            return jsonify(title="Internal Server Error", status=500,
                           detail="sample partner switched to fail500"), 500
        if mode == "fail429":
            return (jsonify(title="Too Many Requests", status=429,
                            detail="sample partner switched to fail429"),
                    429, {"Retry-After": "1"})
        time.sleep(partner.hang_seconds)
        return jsonify(title="Gateway Timeout", status=504,
                       detail="sample partner switched to timeout"), 504

    @app.post(DELIVERY_PATH)
    def deliver():
        refused = refusal()
        if refused is not None:
            return refused
        body = request.get_json(silent=True)
        status, answer = partner.receive(request.headers, body,
                                         raw=request.get_data(as_text=True),
                                         method=request.method, path=request.path)
        content_type = "application/json" if status < 300 else "application/problem+json"
        return jsonify(answer), status, {"Content-Type": content_type}

    @app.route(HOOK_PATH, methods=["POST", "PUT", "PATCH"])
    def hook(hook: str):
        if not HOOK_NAME.fullmatch(hook):
            return problem(404, "Not Found", "a hook name has 1-64 letters, digits, '.', "
                                             "'_' or '-'")
        refused = refusal()
        if refused is not None:
            return refused
        status, answer = partner.receive_hook(hook, request.headers,
                                              request.get_data(as_text=True),
                                              method=request.method)
        content_type = "application/json" if status < 300 else "application/problem+json"
        return jsonify(answer), status, {"Content-Type": content_type}

    @app.route(HOOK_PATH + "/oauth/token", methods=["GET", "POST", "PUT"])
    def hook_token_endpoint(hook: str):
        # An OAuth client-credentials connection's authorization endpoint (see `oauth`):
        # any client id and secret get a token, unless the hook's endpoint refuses.
        if not HOOK_NAME.fullmatch(hook):
            return problem(404, "Not Found", "no such hook")
        form = request.args.to_dict() if request.method == "GET" else \
            {**request.args.to_dict(), **request.form.to_dict()}
        answer = partner.tokens.answer(hook, request.method, request.headers, form)
        return jsonify(answer.body), answer.status, answer.headers

    @app.route(HOOK_PATH + "/oauth", methods=["GET", "POST"])
    def hook_token_settings(hook: str):
        # Tell a hook's token endpoint to refuse (or accept) clients, or to answer slowly.
        if not HOOK_NAME.fullmatch(hook):
            return problem(404, "Not Found", "no such hook")
        if request.method == "POST":
            from_form = not request.is_json
            if from_form and not same_origin():
                return problem(403, "Forbidden", "cross-site form posts are refused")
            payload = request.get_json(silent=True) if not from_form else _token_form()
            if not isinstance(payload, Mapping):
                return problem(400, "Bad Request", "send {\"refuse\": true|false, "
                                                   "\"delay_seconds\": N}")
            try:
                partner.tokens.configure(hook, refuse=payload.get("refuse", False),
                                         delay_seconds=payload.get("delay_seconds", 0))
            except TokenSettingsError as error:
                return problem(400, "Bad Request", str(error))
            if from_form:
                return redirect("/", code=303)
        return jsonify(hook=hook, **partner.tokens.settings(hook),
                       requests=partner.tokens.requests(hook))

    @app.post(HOOK_PATH + "/token")
    @app.post("/hook-tokens")
    def hook_api_token(hook: str | None = None):
        from_form = not request.is_json
        if from_form and not same_origin():
            return problem(403, "Forbidden", "cross-site form posts are refused")
        payload = request.get_json(silent=True) if not from_form else request.form
        if not isinstance(payload, Mapping):
            return problem(400, "Bad Request", "send {\"api_token\": \"pgw_<environment>_...\"}")
        hook = hook or str(payload.get("hook") or "")
        try:
            environment = partner.set_hook_token(hook, str(payload.get("api_token") or ""))
        except HookTokenError as error:
            if from_form:
                return render_template_string(PAGE, partner=partner, error=str(error)), 400
            return problem(400, "Bad Request", str(error))
        if from_form:
            return redirect("/", code=303)
        return jsonify(hook=hook, environment=environment, statuses="posted back")

    @app.get("/received")
    def received():
        try:
            limit = int(request.args.get("limit", 100))
        except ValueError:
            limit = -1
        if not 0 <= limit <= 100_000:
            return jsonify(title="Bad Request", status=400,
                           detail="limit must be an integer from 0 to 100000"), 400
        return jsonify(**partner.summary(), mode=partner.mode(),
                       deliveries=partner.deliveries(
                           request_id=request.args.get("request_id"),
                           environment=request.args.get("environment"), limit=limit))

    @app.route("/mode", methods=["GET", "POST"])
    def mode():
        if request.method == "GET":
            return jsonify(partner.mode())
        from_form = not request.is_json
        if from_form and not same_origin():
            return jsonify(title="Forbidden", status=403,
                           detail="cross-site form posts are refused"), 403
        payload = request.get_json(silent=True) if not from_form else request.form
        if not isinstance(payload, Mapping):
            return jsonify(title="Bad Request", status=400,
                           detail="send {\"mode\": ..., \"for_seconds\": N}"), 400
        seconds: Any = payload.get("for_seconds")
        if from_form:
            try:
                seconds = float(seconds) if seconds not in (None, "") else None
            except ValueError:
                seconds = "bad"
        try:
            answer = partner.set_mode(str(payload.get("mode", "")), seconds)
        except ModeError as error:
            if from_form:
                return render_template_string(PAGE, partner=partner, error=str(error)), 400
            return jsonify(title="Bad Request", status=400, detail=str(error)), 400
        return redirect("/", code=303) if from_form else jsonify(answer)

    @app.get("/")
    def index():
        return render_template_string(PAGE, partner=partner, error=None)

    @app.get("/end-users")
    def end_users():
        sms, emails, sent, error = {}, {}, [], None
        if partner.developer_endpoint is None:
            error = "no AWS endpoint configured: nothing to show"
        else:
            try:
                sms = _get_json(partner.developer_endpoint + SMS_PATH)["sms_messages"]
                emails = _get_json(partner.developer_endpoint + EMAIL_PATH)["email_messages"]
                # What SES sent (the console's invitations), newest first.
                sent = _get_json(partner.developer_endpoint + SES_PATH)["messages"][::-1]
            except (requests.RequestException, ValueError, KeyError, TypeError) as failure:
                error = f"the AWS endpoint did not answer: {type(failure).__name__}"
        return render_template_string(END_USERS_PAGE, sms=sms, emails=emails, sent=sent,
                                      error=error, endpoint=partner.developer_endpoint,
                                      sms_path=SMS_PATH, email_path=EMAIL_PATH,
                                      ses_path=SES_PATH)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                    "frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app


def _token_form() -> dict[str, Any]:
    """The token endpoint settings of a form post (`refuse=true`, `delay_seconds=N`)."""
    delay: Any = request.form.get("delay_seconds") or 0
    try:
        delay = float(delay)
    except ValueError:
        pass  # refused by `TokenEndpoint.configure` with the reason
    return {"refuse": request.form.get("refuse") == "true", "delay_seconds": delay}


def _get_json(url: str) -> Any:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


def problem(status: int, title: str, detail: str):
    return (jsonify(title=title, status=status, detail=detail), status,
            {"Content-Type": "application/problem+json"})


def same_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin.rstrip("/") == request.host_url.rstrip("/")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sample partner</title>
<meta http-equiv="refresh" content="5">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top;font-size:.9rem}code,pre{font-size:.85rem}
pre{white-space:pre-wrap;word-break:break-all;max-width:60rem;margin:.2rem 0}
.mode{padding:.5rem 1rem;background:#f3f4f6;display:inline-block;border-radius:.3rem}
.bad{color:#b42318}.ok{color:#067647}.box{background:#f3f4f6;padding:.5rem 1rem}
</style></head><body>
{% set base = request.host_url.rstrip('/') %}
<h1>Sample partner</h1>
<p><a href="/end-users">What end users received (SMS and email)</a></p>
<div class="box">
<p><strong>Your own partner:</strong> in the console, set an environment's endpoint to
<code>{{ base }}/hooks/&lt;any name&gt;</code> (e.g. <code>{{ base }}/hooks/my-company</code>)
with any credential: an API key header of any name and value, Basic auth, or OAuth client
credentials with the authorization endpoint
<code>{{ base }}/hooks/&lt;name&gt;/oauth/token</code> and any client id and secret (a real
client-credentials token endpoint; <code>POST {{ base }}/hooks/&lt;name&gt;/oauth</code> with
<code>{"refuse": true}</code> makes it refuse clients, so the connection ends DEAUTHORIZED and
the console shows the refusal). Every request is answered 200 and shown below as received. To get statuses back, paste that
environment's API token (from the console) here:</p>
<form method="post" action="/hook-tokens">
  <label>hook name <input name="hook" required pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
   placeholder="my-company"></label>
  <label>API token <input name="api_token" type="password" required autocomplete="off"
   placeholder="pgw_test_..."></label>
  <button type="submit">Post statuses back</button>
</form>
{% for h in partner.hooks() %}<p><code>/hooks/{{ h.name }}</code>: statuses posted back for
{{ h.token_environments | join(', ') if h.token_environments else 'no environment yet' }}</p>
{% endfor %}
</div>
<p>The demo partners' deliveries go to <code>{{ base }}/deliveries</code> with the
<code>{{ partner.api_key_header }}</code> header; statuses go back to
<code>{{ partner.partner_api_url }}/v1</code>. JSON of everything below:
<a href="/received"><code>/received</code></a>.</p>
{% if error %}<p class="bad">{{ error }}</p>{% endif %}
{% set m = partner.mode() %}{% set s = partner.summary() %}
<p class="mode">Mode: <strong class="{{ 'ok' if m.mode == 'ok' else 'bad' }}">{{ m.mode }}</strong>
{% if m.remaining_seconds %} for {{ m.remaining_seconds }} s more{% endif %}</p>
<form method="post" action="/mode">
  <label>Answer deliveries with
  <select name="mode">{% for name in ["ok", "fail500", "fail429", "timeout"] %}
    <option value="{{ name }}">{{ name }}</option>{% endfor %}</select></label>
  <label>for <input name="for_seconds" type="number" min="1" max="3600" value="60"> seconds</label>
  <button type="submit">Switch</button>
</form>
<p>Received {{ s.received }} · duplicates {{ s.duplicates }} · refused {{ s.refused }} ·
rejected (bad key) {{ s.rejected }} · not CloudEvents {{ s.invalid }} ·
statuses posted {{ s.statuses_posted }} · failed {{ s.statuses_failed }} ·
pending {{ s.pending_statuses }}</p>
<table><thead><tr><th>Received</th><th>Request as received</th><th>Account</th>
<th>Environment</th><th>Request</th><th>Type</th><th>Statuses posted</th></tr></thead><tbody>
{% for d in partner.deliveries(limit=100) %}
<tr><td>{{ d.received_at }}<br>answered {{ d.answer }}{% if d.times_received > 1 %}<br>
<strong>received {{ d.times_received }} times</strong> (same CloudEvent id){% endif %}</td>
<td><code>{{ d.method }} {{ d.path }}</code><br>credential: {{ d.credential }}
<details><summary>headers and body</summary>
<pre>{% for name, value in d.headers.items() %}{{ name }}: {{ value }}
{% endfor %}</pre><pre>{{ d.body }}</pre></details></td>
<td>{{ d.account }}</td><td>{{ d.environment or '' }}</td>
<td><code>{{ d.request_id or '' }}</code></td><td>{{ d.data.get('request_type', d.type) }}</td>
<td>{% for st in d.statuses %}<span class="{{ 'bad' if st.error else 'ok' }}">{{ st.status }}
({{ st.http_status }})</span>{% if not loop.last %} → {% endif %}{% endfor %}
{% if d.note %}<em>{{ d.note }}</em>{% endif %}</td></tr>
{% else %}<tr><td colspan="7">Nothing received yet.</td></tr>{% endfor %}
</tbody></table></body></html>
"""

END_USERS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What end users received</title>
<meta http-equiv="refresh" content="5">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}td,th{border-bottom:1px solid #ddd;
padding:.3rem;text-align:left;vertical-align:top;font-size:.9rem}
pre{white-space:pre-wrap;margin:0;font-size:.85rem}.bad{color:#b42318}
</style></head><body>
<p><a href="/">Sample partner</a></p>
<h1>What end users received</h1>
<p>The SMS and emails SNS would have sent on this machine, and the emails SES sent (the
console's invitations); moto delivers none. JSON:
<a href="{{ endpoint }}{{ sms_path }}"><code>{{ endpoint }}{{ sms_path }}</code></a>,
<a href="{{ endpoint }}{{ email_path }}"><code>{{ endpoint }}{{ email_path }}</code></a> and
<a href="{{ endpoint }}{{ ses_path }}"><code>{{ endpoint }}{{ ses_path }}</code></a>.</p>
{% if error %}<p class="bad">{{ error }}</p>{% endif %}
<h2>SMS</h2>
<table><thead><tr><th>Phone number</th><th>Message</th><th>Message id</th></tr></thead><tbody>
{% for phone, messages in sms.items() %}{% for m in messages %}
<tr><td>{{ phone }}</td><td><pre>{{ m.Message }}</pre></td><td><code>{{ m.MessageId }}</code></td></tr>
{% endfor %}{% else %}<tr><td colspan="3">No SMS yet.</td></tr>{% endfor %}
</tbody></table>
<h2>Email</h2>
<table><thead><tr><th>Address</th><th>Subject</th><th>Message</th><th>Message id</th></tr>
</thead><tbody>
{% for address, messages in emails.items() %}{% for m in messages %}
<tr><td>{{ address }}</td><td>{{ m.Subject or '' }}</td><td><pre>{{ m.Message }}</pre></td>
<td><code>{{ m.MessageId }}</code></td></tr>
{% endfor %}{% else %}<tr><td colspan="4">No email yet.</td></tr>{% endfor %}
</tbody></table>
<h2 id="ses">Email sent through SES (invitations)</h2>
<table><thead><tr><th>To</th><th>From</th><th>Subject</th><th>Message</th><th>Message id</th>
</tr></thead><tbody>
{% for m in sent %}
<tr><td>{{ (m.Destination.ToAddresses or [])|join(', ') }}</td><td>{{ m.Source }}</td>
<td>{{ m.Subject or '' }}</td>
<td><pre>{{ ((m.Body.text_part if m.Body else m.RawData) or '')|urlize }}</pre></td>
<td><code>{{ m.Id }}</code></td></tr>
{% else %}<tr><td colspan="5">No email sent through SES yet.</td></tr>{% endfor %}
</tbody></table></body></html>
"""
