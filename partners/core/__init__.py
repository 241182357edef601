"""What every concept builds on: AWS clients, clock and ids, constants, event contracts, paging,
and the base errors.

Unlike the concepts, core has no surface of its own: each module is small and public, and
callers import the module they mean (`partners.core.clock`, `partners.core.constants`).
"""
