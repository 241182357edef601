"""Deliveries: what EventBridge did with each event for each partner environment, folded from
the event bus's own logs; resends that keep the CloudEvent id; endpoint health figures.

What other packages import from this concept; its modules are its own.
"""
