"""Plain-text email through Amazon SES (`SendEmail`), for the console's own messages
(invitations to join an organisation).

End users' notifications go through the SNS topic their confirmed subscriptions follow
(`partners.notifications`); an invitation goes to an address that has subscribed to nothing,
which SNS cannot reach (an email subscription must be confirmed by its owner first,
https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html), and Cognito sends
only its own codes. SES sends to any address from a verified identity
(https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html); in the SES sandbox,
only to verified recipients.
"""

from __future__ import annotations

import logging

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code

logger = logging.getLogger(__name__)


class SesMail:
    """Send one plain-text email from `sender`; a refusal is logged and answered False (the
    caller then says the mail was not sent), never raised."""

    def __init__(self, sender: str, *, boto3_session: boto3.session.Session | None = None):
        self.sender = sender
        self._ses = client("ses", boto3_session)

    def __call__(self, to: str, subject: str, text: str) -> bool:
        try:
            self._ses.send_email(
                Source=self.sender, Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}})
        except ClientError as error:
            # Not verified, sandboxed recipient, throttled: the link is still shown once.
            logger.warning("SES refused an invitation email: %s", error_code(error))
            return False
        except BotoCoreError as error:
            logger.warning("SES could not be reached: %s", type(error).__name__)
            return False
        return True
