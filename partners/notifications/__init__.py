"""End-user notifications: contacts, message templates, the notifier.

What other packages import from this concept; its modules are its own. The notifier (and its
templates) is imported on first use (`partners.core.surface`): the portal API only keeps
contacts, and its cold start should not pay for the notifier.
"""

from typing import TYPE_CHECKING

from partners.core.surface import lazy_exports
from partners.notifications.contact_details import Contact
from partners.notifications.contacts import ContactStore
from partners.notifications.exceptions import ContactConflictError, ContactNotFoundError

if TYPE_CHECKING:
    from partners.notifications.notifier import Notifier, status_change

__getattr__ = lazy_exports(__name__, dict.fromkeys(("Notifier", "status_change"), "notifier"))

__all__ = [
    "Contact",
    "ContactConflictError",
    "ContactNotFoundError",
    "ContactStore",
    "Notifier",
    "status_change",
]
