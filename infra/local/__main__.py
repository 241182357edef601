"""`make run`: the whole gateway on this machine, stopped by one Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading

from infra.local.stack import EmbeddedStack


def main() -> int:
    stack = EmbeddedStack().start()
    print(f"AWS endpoint (moto): {stack.aws_endpoint}")
    print(f"Stage {stack.spec.stage!r}: bus {stack.spec.bus_name}, "
          f"{len(stack.spec.tables)} tables provisioned")
    print("Try: aws --endpoint-url", stack.aws_endpoint, "events list-event-buses")
    print("Press Ctrl-C to stop.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
