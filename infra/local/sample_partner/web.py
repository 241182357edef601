"""The sample partner's web pages: the delivery endpoint, `/received`, `/mode` and `/`."""

from __future__ import annotations

import time
from typing import Any, Mapping

from flask import Flask, jsonify, redirect, render_template_string, request

from infra.local.sample_partner.deliveries import DELIVERY_PATH, ModeError


def create_app(partner: Any) -> Flask:
    """The web app of `partner` (a `SamplePartner`, which builds it with `create_app(self)`):
    deliveries in, what it received out, its mode switch."""
    # The package's name, as the app always had (`infra.local.sample_partner`).
    app = Flask(__package__)

    @app.post(DELIVERY_PATH)
    def deliver():
        mode = partner.mode()["mode"]
        if mode != "ok":
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
        body = request.get_json(silent=True)
        status, answer = partner.receive(request.headers, body)
        content_type = "application/json" if status < 300 else "application/problem+json"
        return jsonify(answer), status, {"Content-Type": content_type}

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


def same_origin() -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin.rstrip("/") == request.host_url.rstrip("/")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sample partner</title>
<meta http-equiv="refresh" content="3">
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top;font-size:.9rem}code{font-size:.85rem}
.mode{padding:.5rem 1rem;background:#f3f4f6;display:inline-block;border-radius:.3rem}
.bad{color:#b42318}.ok{color:#067647}
</style></head><body>
<h1>Sample partner</h1>
<p>Deliveries are POSTed to <code>{{ request.host_url.rstrip('/') }}/deliveries</code> with the
<code>{{ partner.api_key_header }}</code> header; statuses go back to
<code>{{ partner.partner_api_url }}/v1</code>.</p>
{% set m = partner.mode() %}{% set s = partner.summary() %}
<p class="mode">Mode: <strong class="{{ 'ok' if m.mode == 'ok' else 'bad' }}">{{ m.mode }}</strong>
{% if m.remaining_seconds %} for {{ m.remaining_seconds }} s more{% endif %}</p>
<form method="post" action="/mode">
  <label>Answer deliveries with
  <select name="mode">{% for name in ["ok", "fail500", "fail429", "timeout"] %}
    <option value="{{ name }}">{{ name }}</option>{% endfor %}</select></label>
  <label>for <input name="for_seconds" type="number" min="1" max="3600" value="60"> seconds</label>
  <button type="submit">Switch</button>
  {% if error %}<p class="bad">{{ error }}</p>{% endif %}
</form>
<p>Received {{ s.received }} · duplicates {{ s.duplicates }} · refused {{ s.refused }} ·
rejected (bad key) {{ s.rejected }} · statuses posted {{ s.statuses_posted }} ·
failed {{ s.statuses_failed }} · pending {{ s.pending_statuses }}</p>
<table><thead><tr><th>Received</th><th>Account</th><th>Environment</th><th>Request</th>
<th>Type</th><th>Attributes</th><th>Statuses posted</th></tr></thead><tbody>
{% for d in partner.deliveries(limit=100) %}
<tr><td>{{ d.received_at }}</td><td>{{ d.account }}</td><td>{{ d.environment }}</td>
<td><code>{{ d.request_id }}</code></td><td>{{ d.data.get('request_type', d.type) }}</td>
<td><code>{{ d.data.get('attributes', {}) | tojson }}</code></td>
<td>{% for st in d.statuses %}<span class="{{ 'bad' if st.error else 'ok' }}">{{ st.status }}
({{ st.http_status }})</span>{% if not loop.last %} → {% endif %}{% endfor %}
{% if d.note %}<em>{{ d.note }}</em>{% endif %}</td></tr>
{% else %}<tr><td colspan="7">Nothing received yet.</td></tr>{% endfor %}
</tbody></table></body></html>
"""
