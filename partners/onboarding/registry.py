"""The partner registry on DynamoDB: organisations, members and routing status.

Items in the partners table (`pk`, `sk`):

- `PARTNER#<id>` / `PROFILE`: the partner document (JSON in `document`), with `status`,
  `created_at` and `version` as top-level attributes for the `by-status` index and for
  conditional writes;
- `SLUG#<slug>` / `SLUG`: reserves a slug for one partner;
- `MEMBER#<user>` / `MEMBER`: the one organisation a console user founded (members and their
  roles: `partners.onboarding.members`; the founder becomes the first owner);
- `PARTNER#<id>` / `ROUTING#<environment>`: the reconciler's last outcome, kept apart from the
  profile so that a status write never races a partner's save on the version.

Secrets never enter this table: endpoint credentials live in Secrets Manager
(`partners.onboarding.credentials`) and only their ARN and "set on" date are part of the document.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterator

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, new_partner_id, utc_now
from partners.core.exceptions import ValidationError
from partners.core.paging import Page, check_limit, decode_cursor, encode_cursor
from partners.onboarding.exceptions import (
    PartnerConflictError,
    PartnerNotFoundError,
    SlugTakenError,
)
from partners.onboarding.lifecycle import check_transition
from partners.onboarding.members import Member, membership_items
from partners.onboarding.models import Partner, PartnerStatus, RoutingStatus
from partners.onboarding.roles import Role
from partners.onboarding.validation import validate_display_name, validate_email, validate_slug

PROFILE = "PROFILE"
STATUS_INDEX = "by-status"


def _partner_key(partner_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": PROFILE}}


def _item(partner: Partner) -> dict[str, Any]:
    return {
        **_partner_key(partner.id),
        "id": {"S": partner.id},
        "slug": {"S": partner.slug},
        "status": {"S": partner.status.value},
        "created_at": {"S": partner.created_at},
        "version": {"N": str(partner.version)},
        "document": {"S": json.dumps(partner.to_dict(), separators=(",", ":"))},
    }


def _partner(item: dict[str, Any]) -> Partner:
    return Partner.from_dict(json.loads(item["document"]["S"]))


class PartnerRegistry:
    """Create, read, list and update partners with optimistic concurrency.

    Every update names the version it was based on (`partner.version`); a stale one raises
    `PartnerConflictError` and writes nothing.
    """

    def __init__(
        self,
        table_name: str,
        *,
        boto3_session: boto3.session.Session | None = None,
        clock: Clock = utc_now,
        id_factory=new_partner_id,
    ):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock
        self._new_id = id_factory

    @property
    def dynamodb(self) -> Any:
        """The DynamoDB client (the member and invitation stores share the table and it)."""
        return self._dynamodb

    # --- partners -------------------------------------------------------------------------

    def create_partner(
        self,
        *,
        display_name: str,
        contact_email: str,
        slug: str,
        owner: str | None = None,
        owner_email: str | None = None,
    ) -> Partner:
        """Create a draft partner; reserve its slug and (optionally) its founder, who becomes
        its first owner (`owner_email` is how the members page names them; the contact email
        when not given).

        Raises
        ------
        ValidationError: for a bad name, email or slug, or an owner who already has one.
        SlugTakenError: the slug belongs to another partner.
        """
        now = isoformat(self._clock())
        partner = Partner(
            id=self._new_id(),
            slug=validate_slug(slug),
            display_name=validate_display_name(display_name),
            contact_email=validate_email(contact_email),
            status=PartnerStatus.DRAFT,
            members=(owner,) if owner else (),
            version=1,
            created_at=now,
            updated_at=now,
        )
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table_name, "Item": _item(partner),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": self.table_name,
                     "Item": {"pk": {"S": f"SLUG#{partner.slug}"}, "sk": {"S": "SLUG"},
                              "partner_id": {"S": partner.id}},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
        ]
        if owner:
            writes.append(self._member_put(owner, partner.id))
            writes.extend(membership_items(self.table_name, Member(
                partner_id=partner.id, user_id=owner, email=owner_email or partner.contact_email,
                role=Role.OWNER, joined_at=now)))
        try:
            self._dynamodb.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise SlugTakenError(partner.slug) from None
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise ValidationError("you have already created an organisation (one each); "
                                      "ask its owners to invite you to others",
                                      field="owner") from None
            raise
        return partner

    def get_partner(self, partner_id: str) -> Partner:
        """The partner with `partner_id` (deleted ones included).

        Raises
        ------
        PartnerNotFoundError
        """
        item = self._dynamodb.get_item(
            TableName=self.table_name, Key=_partner_key(partner_id), ConsistentRead=True
        ).get("Item")
        if not item:
            raise PartnerNotFoundError(partner_id)
        return _partner(item)

    def list_partners(
        self, *, status: PartnerStatus | None = None, limit: int = 50, cursor: str | None = None
    ) -> Page[Partner]:
        """A page of partners, oldest first when filtered by status.

        Raises
        ------
        ValidationError: a bad limit or cursor.
        """
        check_limit(limit)
        start = decode_cursor(cursor)
        if status is not None:
            request: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":s": {"S": PartnerStatus(status).value}},
                "Limit": limit,
            }
            if start:
                request["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
            response = self._dynamodb.query(**request)
        else:
            request = {
                "TableName": self.table_name,
                "FilterExpression": "sk = :profile",
                "ExpressionAttributeValues": {":profile": {"S": PROFILE}},
                "Limit": limit,
            }
            if start:
                request["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
            response = self._dynamodb.scan(**request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[_partner(item) for item in response.get("Items", [])],
            cursor=encode_cursor({k: v["S"] for k, v in last.items()}) if last else None,
        )

    def iter_partners(self, *, status: PartnerStatus | None = None) -> Iterator[Partner]:
        """Every partner (with `status`), page by page."""
        cursor = None
        while True:
            page = self.list_partners(status=status, limit=100, cursor=cursor)
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def save_partner(self, partner: Partner) -> Partner:
        """Write `partner` if nobody saved since `partner.version`; return it one version on.

        The slug and members are not changed here (they have their own reservations).

        Raises
        ------
        PartnerConflictError: the stored version is not `partner.version`; nothing written.
        """
        saved = replace(partner, version=partner.version + 1,
                        updated_at=isoformat(self._clock()))
        try:
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item=_item(saved),
                ConditionExpression="attribute_exists(pk) AND version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(partner.version)}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise PartnerConflictError(partner.id, partner.version) from None
            raise
        return saved

    def transition(
        self,
        partner: Partner,
        target: PartnerStatus,
        *,
        reason: str | None = None,
    ) -> Partner:
        """Move `partner` to `target` (checked against the lifecycle table) and save it.

        Raises
        ------
        IllegalTransitionError: the move is not in the table.
        PartnerConflictError: `partner` is stale.
        """
        check_transition(partner.id, partner.status, target)
        return self.save_partner(replace(partner, status=target, status_reason=reason))

    # --- members --------------------------------------------------------------------------

    def _member_put(self, user: str, partner_id: str) -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name,
                        "Item": {"pk": {"S": f"MEMBER#{user}"}, "sk": {"S": "MEMBER"},
                                 "partner_id": {"S": partner_id}},
                        "ConditionExpression": "attribute_not_exists(pk)"}}

    def partner_for_member(self, user: str) -> Partner | None:
        """The organisation `user` founded, or None (the organisations they belong to:
        `MemberStore.organisations_of`)."""
        item = self._dynamodb.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"MEMBER#{user}"}, "sk": {"S": "MEMBER"}},
            ConsistentRead=True,
        ).get("Item")
        return self.get_partner(item["partner_id"]["S"]) if item else None

    # --- routing status (written by the reconciler) ---------------------------------------

    def put_routing_status(self, status: RoutingStatus) -> None:
        self._dynamodb.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"PARTNER#{status.partner_id}"},
                "sk": {"S": f"ROUTING#{status.environment}"},
                "document": {"S": json.dumps(status.to_dict(), separators=(",", ":"))},
            },
        )

    def delete_routing_status(self, partner_id: str, environment: str) -> None:
        self._dynamodb.delete_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": f"ROUTING#{environment}"}},
        )

    def scan_partners_and_routing(self) -> tuple[list[Partner], list[RoutingStatus]]:
        """Every partner and every routing status, read in one scan of the table.

        The reconciler's full resync needs both; one scan in 1 MB pages costs a few calls
        where a query per partner would cost one per partner.
        """
        partners: list[Partner] = []
        statuses: list[RoutingStatus] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "sk = :profile OR begins_with(sk, :routing)",
            "ExpressionAttributeValues": {":profile": {"S": PROFILE},
                                          ":routing": {"S": "ROUTING#"}},
            "ConsistentRead": True,
        }
        while True:
            response = self._dynamodb.scan(**request)
            for item in response.get("Items", []):
                if item["sk"]["S"] == PROFILE:
                    partners.append(_partner(item))
                else:
                    statuses.append(RoutingStatus.from_dict(json.loads(item["document"]["S"])))
            if not response.get("LastEvaluatedKey"):
                return partners, statuses
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def routing_statuses(self, partner_id: str) -> dict[str, RoutingStatus]:
        """The reconciler's last outcome for each of the partner's environments."""
        response = self._dynamodb.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :routing)",
            ExpressionAttributeValues={":pk": {"S": f"PARTNER#{partner_id}"},
                                       ":routing": {"S": "ROUTING#"}},
            ConsistentRead=True,
        )
        statuses = [RoutingStatus.from_dict(json.loads(i["document"]["S"]))
                    for i in response.get("Items", [])]
        return {s.environment: s for s in statuses}
