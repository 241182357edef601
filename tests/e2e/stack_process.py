"""Run the embedded stack for the end-to-end tests, in its own process.

The stack is `make run`'s (`infra.local.stack.EmbeddedStack`, demo data included), started on
the ports the test chose. Beside it a small read-only inspector answers what no AWS API
shows over HTTP: the SMS and topic messages moto's SNS recorded (`GET /sms`, `GET /topics`;
moto's `/moto-api/data.json` fails once Lambda functions exist, as it touches their Docker
client), and whether the runtime and the
sample partner are idle (`GET /idle?timeout=S`), so tests wait for work to finish instead
of sleeping. SIGINT or SIGTERM stops everything, as Ctrl-C stops `make run`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from werkzeug.wrappers import Request, Response

from infra.local.servers import ServerThread
from infra.local.stack import EmbeddedStack, Ports, StackOptions
from infra.local.stopping import StopSignals


def inspector(stack: EmbeddedStack):
    def app(environ, start_response):
        request = Request(environ)
        if request.path == "/sms":
            from moto.sns.models import sns_backends

            backend = sns_backends["123456789012"]["us-east-1"]
            body = [{"message_id": k, "phone_number": v[0], "message": v[1]}
                    for k, v in list(backend.sms_messages.items())]
        elif request.path == "/topics":
            from moto.sns.models import sns_backends

            backend = sns_backends["123456789012"]["us-east-1"]
            body = [{"topic_arn": arn, "message_id": n[0], "message": n[1], "subject": n[2],
                     "attributes": n[3]}
                    for arn, topic in list(backend.topics.items())
                    for n in list(topic.sent_notifications)]
        elif request.path == "/idle":
            timeout = min(float(request.args.get("timeout", "20")), 120.0)
            runtime_idle = stack.runtime.drain(timeout)
            partner_idle = stack.sample_partner.wait_idle(timeout)
            body = {"idle": bool(runtime_idle and partner_idle and stack.runtime.drain(timeout))}
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ,
                                                                          start_response)
    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("aws", "console", "api", "sample-partner", "inspector"):
        parser.add_argument(f"--{name}-port", type=int, required=True)
    parser.add_argument("--demo-file", type=Path, required=True)
    parser.add_argument("--status-delay", type=float, default=0.05)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("infra.local.apigateway").setLevel(logging.INFO)
    # The handler takes no lock (infra/local/stopping.py says why an Event.set() can hang).
    signals = StopSignals().install()
    ports = Ports(aws=arguments.aws_port, console=arguments.console_port,
                  api=arguments.api_port, sample_partner=arguments.sample_partner_port)
    # No authorizer cache: the tests check that a suspended partner's token is refused on the
    # next call (on AWS, and in `make run`, within the cache's minute).
    options = StackOptions(demo_file=None, status_delay=arguments.status_delay,
                           sample_partner_hang_seconds=2.0, authorizer_ttl_seconds=0)
    stack = EmbeddedStack(ports, options).start()
    server = ServerThread(inspector(stack), arguments.inspector_port, name="inspector").start()
    try:
        # Written last: the test starts once this file exists.
        from infra.local.demo import write_demo_file

        write_demo_file(arguments.demo_file, {**stack.demo,
                                              "inspector": server.url})
        signals.wait()
    finally:
        server.stop()
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
