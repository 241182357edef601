"""The partner domain, one sub-package per concept.

`core` (AWS sessions, clock and ids, constants, event contracts, paging, base errors) is used by
every concept; `onboarding`, `routing`, `requests`, `notifications` and `archive` each export
their public surface from their `__init__`. No Flask, no Pulumi, no Lambda types: `handlers`,
`console` and `infra` build on this package.
"""
