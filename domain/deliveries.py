"""The outbox: what bantin owes each destination about a package (its delivery, and after a withdrawal or kill
a retraction notice), each with its own state and attempts, sent and retried by one path."""

from collections.abc import Iterable, Mapping
from enum import StrEnum

from domain.areas import Area, is_within
from domain.statemachine import check_transition


class PublicationFailed(Exception):
    """No destination accepted the package: an infrastructure outcome, not a rule violation. The
    package stays approved and the publish can be rerun (with dead deliveries resent)."""


class DestinationKind(StrEnum):
    HTTTN = "htttn"  # provincial or central source information system (HTTP push)
    HTTP = "http"  # any other HTTP endpoint that accepts the package JSON


class OutboxKind(StrEnum):
    """What an outbox row carries: the package itself, or a notice taking it off the air."""

    DELIVERY = "delivery"  # a ``bantin.package/1`` push
    RETRACTION = "retraction"  # a ``bantin.retraction/1`` notice (withdraw or kill)


class OutboxAction(StrEnum):
    PUBLISH = "publish"
    WITHDRAW = "withdraw"
    KILL = "kill"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"  # a transient failure; will be retried
    DEAD = "dead"  # gave up (permanent error or attempts exhausted); an operator may resend


DELIVERY_TRANSITIONS: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset({DeliveryStatus.SENDING}),
    # SENDING -> SENDING: a crash mid-send left it SENDING; a resumed publish sends again with the same
    # idempotency key, so the receiver recognises the repeat.
    DeliveryStatus.SENDING: frozenset(
        {DeliveryStatus.SENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DEAD}
    ),
    DeliveryStatus.FAILED: frozenset({DeliveryStatus.SENDING, DeliveryStatus.DEAD}),
    DeliveryStatus.DEAD: frozenset({DeliveryStatus.PENDING}),
    DeliveryStatus.DELIVERED: frozenset(),
}


def transition_delivery(current: DeliveryStatus, target: DeliveryStatus) -> DeliveryStatus:
    """Enforce :data:`DELIVERY_TRANSITIONS`; raises ``InvalidTransition``."""
    return check_transition("delivery", DELIVERY_TRANSITIONS, current, target)


def idempotency_key(package_manifest_hash: str, destination_id: int,
                    action: OutboxAction = OutboxAction.PUBLISH) -> str:
    """Same package to the same destination always carries the same key, across retries and reruns (a
    retraction notice adds its action)."""
    key = f"{package_manifest_hash[:32]}-{destination_id}"
    return key if action is OutboxAction.PUBLISH else f"{key}-{action.value}"


def destination_takes(destination_area: str | None, target_codes: Iterable[str], tree: Mapping[str, Area]) -> bool:
    """Whether a destination scoped to ``destination_area`` (None: every area) takes a bulletin for
    ``target_codes``: a target inside its area, or a unit above it (a province-wide bulletin reaches a commune's
    receiver)."""
    if destination_area is None:
        return True
    if destination_area not in tree:
        return False
    return any(code in tree and (is_within(code, destination_area, tree) or is_within(destination_area, code, tree))
               for code in target_codes)


def kind_of(action: OutboxAction) -> OutboxKind:
    return OutboxKind.DELIVERY if action is OutboxAction.PUBLISH else OutboxKind.RETRACTION


def is_transient_http_status(status: int) -> bool:
    """5xx, 408 and 429 are worth retrying; other 4xx mean the request itself is wrong."""
    return status >= 500 or status in (408, 429)


def backoff_delay(attempt: int, base_s: float, *, cap_s: float = 300.0, jitter: float = 0.5,
                  rand: float = 0.5) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after ``attempt`` failed: ``base_s * 2**(attempt-1)``
    capped at ``cap_s``, spread by ±``jitter`` (``rand`` in [0, 1) from the caller's random source), so
    many deliveries that failed together do not all retry in the same instant."""
    if attempt < 1:
        return 0.0
    delay = min(cap_s, base_s * 2 ** (attempt - 1))
    return max(0.0, delay * (1 - jitter + 2 * jitter * rand))


class PushStatus(StrEnum):
    """A push on a channel without receipts of its own (MQTT: the broker's PUBACK is the acknowledgement)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # retried by the sweeper with backoff


PUSH_TRANSITIONS: dict[PushStatus, frozenset[PushStatus]] = {
    PushStatus.PENDING: frozenset({PushStatus.SENDING}),
    # SENDING -> SENDING: the runner died mid-push; the sweeper pushes again (devices recognise the item id).
    PushStatus.SENDING: frozenset({PushStatus.SENT, PushStatus.FAILED, PushStatus.SENDING}),
    PushStatus.FAILED: frozenset({PushStatus.SENDING}),
    PushStatus.SENT: frozenset({PushStatus.SENDING}),  # a re-push (e.g. an operator's) is allowed
}


def transition_push(current: PushStatus, target: PushStatus) -> PushStatus:
    """Enforce :data:`PUSH_TRANSITIONS`; raises ``InvalidTransition``."""
    return check_transition("channel push", PUSH_TRANSITIONS, current, target)
