"""`python -m infra.cloud.preflight --stack <stack> [--stage <stage>] [--region <region>]`."""

from infra.cloud.preflight.runner import main

raise SystemExit(main())
