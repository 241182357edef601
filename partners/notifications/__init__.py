"""End-user notifications: contacts, message templates, the notifier.

What other packages import from this concept; its modules are its own.
"""

from partners.notifications.contact_details import Contact
from partners.notifications.contacts import ContactStore
from partners.notifications.exceptions import ContactConflictError, ContactNotFoundError
from partners.notifications.notifier import Notifier, status_change

__all__ = [
    "Contact",
    "ContactConflictError",
    "ContactNotFoundError",
    "ContactStore",
    "Notifier",
    "status_change",
]
