"""The members of partner organisations, in the partners table, next to their organisation.

Items (`pk`, `sk`):

- `PARTNER#<partner>` / `MEMBER#<user>`: one membership: the user's email and role there,
  when they joined and were last active, who invited them. An organisation's members are one
  query; a role check is one `GetItem`.
- `MEMBER#<user>` / `ORG#<partner>`: the same membership seen from the user, so the
  organisations a user belongs to (the console's switcher) are one query.
- `MEMBER#<user>` / `MEMBER` (written by the registry when a user creates an organisation):
  the one organisation the user founded; it limits each user to founding one.

Both membership items are written and deleted together in one transaction. Every change
that could leave an organisation without an owner carries a condition that another owner
still holds the role in the same transaction, so two owners demoting each other at once
cannot both succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.onboarding.roles import Role

MEMBER_PREFIX = "MEMBER#"
ORG_PREFIX = "ORG#"
FOUNDER = "MEMBER"


class MembershipChangedError(Exception):
    """A membership changed between reading and writing it (a role, a removal, the last
    owner); nothing was written. Internal: the use cases turn it into a domain error."""


@dataclass(frozen=True)
class Member:
    """One user's membership of one organisation."""

    partner_id: str
    user_id: str
    email: str
    role: Role
    joined_at: str
    last_active_at: str | None = None
    invited_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "email": self.email, "role": self.role.value,
                "joined_at": self.joined_at}


def _partner_pk(partner_id: str) -> dict[str, str]:
    return {"S": f"PARTNER#{partner_id}"}


def _member_key(partner_id: str, user_id: str) -> dict[str, Any]:
    return {"pk": _partner_pk(partner_id), "sk": {"S": MEMBER_PREFIX + user_id}}


def _index_key(user_id: str, partner_id: str) -> dict[str, Any]:
    return {"pk": {"S": MEMBER_PREFIX + user_id}, "sk": {"S": ORG_PREFIX + partner_id}}


def _member(item: dict[str, Any]) -> Member:
    return Member(partner_id=item["partner_id"]["S"], user_id=item["user_id"]["S"],
                  email=item["email"]["S"], role=Role(item["role"]["S"]),
                  joined_at=item["joined_at"]["S"],
                  last_active_at=item.get("last_active_at", {}).get("S"),
                  invited_by=item.get("invited_by", {}).get("S"))


def membership_items(table_name: str, member: Member) -> list[dict[str, Any]]:
    """The two transaction items that add `member` (both fail when they are one already)."""
    item = {**_member_key(member.partner_id, member.user_id), "kind": {"S": "member"},
            "partner_id": {"S": member.partner_id}, "user_id": {"S": member.user_id},
            "email": {"S": member.email}, "role": {"S": member.role.value},
            "joined_at": {"S": member.joined_at}}
    if member.invited_by:
        item["invited_by"] = {"S": member.invited_by}
    index = {**_index_key(member.user_id, member.partner_id),
             "partner_id": {"S": member.partner_id}}
    return [{"Put": {"TableName": table_name, "Item": row,
                     "ConditionExpression": "attribute_not_exists(pk)"}}
            for row in (item, index)]


class MemberStore:
    """Read and change memberships; every write is conditional on what the caller read."""

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 dynamodb: Any = None):
        self.table_name = table_name
        self._dynamodb = dynamodb or client("dynamodb", boto3_session)

    # --- reads ----------------------------------------------------------------------------

    def get(self, partner_id: str, user_id: str) -> Member | None:
        """`user_id`'s membership of `partner_id`, None when they are no member."""
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key=_member_key(partner_id, user_id),
                                       ConsistentRead=True).get("Item")
        return _member(item) if item else None

    def for_partner(self, partner_id: str) -> list[Member]:
        """Every member of `partner_id`, owners first, then by email."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :member)",
            "ExpressionAttributeValues": {":pk": _partner_pk(partner_id),
                                          ":member": {"S": MEMBER_PREFIX}}}
        members: list[Member] = []
        while True:
            response = self._dynamodb.query(**request)
            members.extend(_member(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        order = list(Role)
        return sorted(members, key=lambda m: (order.index(m.role), m.email))

    def organisations_of(self, user_id: str) -> list[str]:
        """The ids of the organisations `user_id` belongs to."""
        response = self._dynamodb.query(
            TableName=self.table_name, ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :org)",
            ExpressionAttributeValues={":pk": {"S": MEMBER_PREFIX + user_id},
                                       ":org": {"S": ORG_PREFIX}})
        return [item["sk"]["S"][len(ORG_PREFIX):] for item in response.get("Items", [])]

    # --- transaction items ----------------------------------------------------------------

    def add_items(self, member: Member) -> list[dict[str, Any]]:
        """The transaction items that add `member` (both fail when they are one already)."""
        return membership_items(self.table_name, member)

    def _role_update(self, member: Member, role: Role) -> dict[str, Any]:
        return {"Update": {"TableName": self.table_name,
                           "Key": _member_key(member.partner_id, member.user_id),
                           "UpdateExpression": "SET #role = :new",
                           "ConditionExpression": "#role = :old",
                           "ExpressionAttributeNames": {"#role": "role"},
                           "ExpressionAttributeValues": {":new": {"S": role.value},
                                                         ":old": {"S": member.role.value}}}}

    def _still_owner(self, owner: Member) -> dict[str, Any]:
        return {"ConditionCheck": {"TableName": self.table_name,
                                   "Key": _member_key(owner.partner_id, owner.user_id),
                                   "ConditionExpression": "#role = :owner",
                                   "ExpressionAttributeNames": {"#role": "role"},
                                   "ExpressionAttributeValues": {":owner": {"S": Role.OWNER}}}}

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._dynamodb.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) in ("TransactionCanceledException",
                                     "ConditionalCheckFailedException"):
                raise MembershipChangedError(str(error)) from None
            raise

    # --- writes ---------------------------------------------------------------------------

    def add(self, member: Member, *, extra: list[dict[str, Any]] | None = None) -> None:
        """Add `member` (and write `extra` items in the same transaction).

        Raises
        ------
        MembershipChangedError: they are a member already, or an `extra` condition failed.
        """
        self._transact([*self.add_items(member), *(extra or [])])

    def change_role(self, member: Member, role: Role, *, other_owner: Member | None) -> None:
        """Give `member` (as read) the role `role`; `other_owner` must still be an owner when
        an owner is demoted.

        Raises
        ------
        MembershipChangedError: the member's role is not what was read, or the other owner
            is no longer one.
        """
        items = [self._role_update(member, role)]
        if other_owner is not None:
            items.append(self._still_owner(other_owner))
        self._transact(items)

    def transfer(self, owner: Member, successor: Member, *, demote_to: Role) -> None:
        """Make `successor` an owner and `owner` a `demote_to`, in one transaction.

        Raises
        ------
        MembershipChangedError: either role is not what was read.
        """
        self._transact([self._role_update(successor, Role.OWNER),
                        self._role_update(owner, demote_to)])

    def remove(self, member: Member, *, other_owner: Member | None) -> None:
        """Delete `member` (as read) from the organisation, both items at once.

        Raises
        ------
        MembershipChangedError: the member's role changed, they are gone already, or the
            other owner is no longer one.
        """
        items: list[dict[str, Any]] = [
            {"Delete": {"TableName": self.table_name,
                        "Key": _member_key(member.partner_id, member.user_id),
                        "ConditionExpression": "#role = :role",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": {":role": {"S": member.role.value}}}},
            {"Delete": {"TableName": self.table_name,
                        "Key": _index_key(member.user_id, member.partner_id)}},
        ]
        if other_owner is not None:
            items.append(self._still_owner(other_owner))
        self._transact(items)

    def touch(self, partner_id: str, user_id: str, at: str) -> None:
        """Record that the member was active at `at` (no-op when they are no member now)."""
        try:
            self._dynamodb.update_item(
                TableName=self.table_name, Key=_member_key(partner_id, user_id),
                UpdateExpression="SET last_active_at = :at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": {"S": at}})
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
