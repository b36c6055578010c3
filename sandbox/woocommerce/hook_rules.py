"""WooCommerce's rules for the webhooks made through `/wc/v3/webhooks`, on a `HookBook`.

Read from `woocommerce/woocommerce` (docs/platforms.md section 1): `class-wc-webhook.php`
(`failed_delivery()`, `log_delivery()`, `deliver_ping()`, `get_default_topic_hooks()`),
`class-wc-webhook-data-store.php` (`update()`), and the REST controller
`class-wc-rest-webhooks-v1-controller.php` that v2 and v3 extend (`create_item()`,
`update_item()`, `delete_item()`, `prepare_item_for_response()`).

- **Failures.** `failed_delivery()` disables the webhook when its stored count is already
  over `woocommerce_max_webhook_delivery_failures` (5), else adds one. The count stops
  at 6, so the 7th failure in a row disables it, and it stays at 6: a webhook re-activated
  by `PUT status=active` (which leaves the count alone) is disabled again by its next
  failure. A delivery answered 200-302 resets the count (`log_delivery()`). With the
  book's count of failures since the last success, `f`, WC's stored count is
  `min(f, 6)`, and "the stored count before this failure is over 5" is `f > 6`.
- **Status.** `active` delivers; `paused` (by the merchant) and `disabled` (by the rule
  above) do not. A REST create is always `active`: the controller ignores `status` there.
- **Where WordPress sends.** Deliveries and pings go through `wp_safe_remote_*`, whose
  `wp_http_validate_url()` refuses a host that is (or resolves to) a loopback or private
  IPv4 address and any port but 80, 443 and 8080 (filters `http_request_host_is_external`,
  `http_allowed_safe_ports`). The refusal is a WP_Error, so a delivery counts as failed
  and a ping as unanswered: a receiver on `127.0.0.1:8000` or on port 8443 never hears
  from a real store. The sandbox applies it to the URL as registered; a URL that
  `SandboxConfig.forward` maps (a public name in front of the local receiver) counts as
  public, and only its port is checked.
- **Ping.** A REST create sends the ping after saving and ignores its answer: the webhook
  stays `active` whatever it gets, only `pending_delivery` stays set unless the answer
  is exactly 200. Every later save of an active webhook whose delivery URL changed or
  whose ping is still pending pings again (`WC_Webhook_Data_Store::update()`).
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sandbox.hooks import Hook

#: `woocommerce_max_webhook_delivery_failures`' default.
MAX_DELIVERY_FAILURES = 5
#: `wc_get_webhook_statuses()`.
STATUSES = ("active", "paused", "disabled")
#: `WC_Webhook::get_default_topic_hooks()`: the topics a webhook may have (besides
#: `action.<hook>`) and the WordPress actions each listens to.
TOPIC_HOOKS: dict[str, list[str]] = {
    "coupon.created": ["woocommerce_process_shop_coupon_meta", "woocommerce_new_coupon"],
    "coupon.updated": ["woocommerce_process_shop_coupon_meta", "woocommerce_update_coupon"],
    "coupon.deleted": ["wp_trash_post"],
    "coupon.restored": ["untrashed_post"],
    "customer.created": [
        "user_register",
        "woocommerce_created_customer",
        "woocommerce_new_customer",
    ],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
    "product.published": ["woocommerce_product_published"],
}
#: `wp_http_validate_url()`'s default `http_allowed_safe_ports`.
SAFE_PORTS = (80, 443, 8080)
#: `wp_generate_password(50, true, true)`'s alphabet: what a webhook created without a
#: secret gets (the schema's "MD5 of the user" describes older code).
_PASSWORD_CHARS = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"


def valid_topic(topic: str) -> bool:
    """`wc_is_webhook_valid_topic()`: a default topic, or `action.<any hook>`."""
    topic = topic.lower()
    resource, _, event = topic.partition(".")
    return topic in TOPIC_HOOKS or (resource == "action" and bool(event))


def valid_url(url: str) -> bool:
    """`wc_is_valid_url()`: starts with http:// or https:// and parses as a URL."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False


def safe_url(url: str, *, public: bool) -> bool:
    """Whether `wp_http_validate_url()` lets WordPress send to `url` (module doc).

    `public`: the host is known to be public (a forwarded name), so only the port
    counts. Otherwise an IPv4 literal in 0/8, 10/8, 127/8, 172.16/12 or 192.168/16, or
    `localhost`, is refused; other names are taken as public (the sandbox does not
    resolve them).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    if port is not None and port not in SAFE_PORTS:
        return False
    return public or not _local_host(parts.hostname)


def _local_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False  # a name (or IPv6): WordPress would resolve it, the sandbox does not
    first, second = address.packed[0], address.packed[1]
    return (
        first in (0, 10, 127)
        or (first == 172 and 16 <= second <= 31)
        or (first == 192 and second == 168)
    )


def generated_secret() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(50))


def default_name(now: datetime) -> str:
    """`prepare_item_for_database()`'s name for a webhook created without one."""
    return "Webhook created on " + now.strftime("%b %d, %Y @ %I:%M %p")


def status_of(hook: Hook) -> str:
    return str(hook.extra["status"])


def set_status(hook: Hook, status: str) -> None:
    """Only an `active` webhook delivers (`WC_Webhook::is_active()`). The failure count
    is left as it is, as WC leaves it."""
    hook.extra["status"] = status
    hook.active = status == "active"


def over_failure_limit(hook: Hook) -> bool:
    """Whether the failure the book just counted makes WC disable `hook` (module doc)."""
    return hook.failures > MAX_DELIVERY_FAILURES + 1


def _stamp(moment: datetime | None) -> str | None:
    """`wc_rest_prepare_date_response()`; the sandbox's site time zone is UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment is not None else None


def webhook_json(hook: Hook, api_root: str) -> dict[str, Any]:
    """The v2/v3 webhook view. The secret is never part of it; `date_modified` is null
    until the first save after creation (a ping answered 200, an edit, a failure)."""
    resource, _, event = hook.topic.partition(".")
    modified = hook.extra.get("modified")
    link = f"{api_root}/webhooks"
    return {
        "id": int(hook.id),
        "name": hook.extra["name"],
        "status": status_of(hook),
        "topic": hook.topic,
        "resource": resource,
        "event": event,
        "hooks": [event] if resource == "action" else TOPIC_HOOKS.get(hook.topic, []),
        "delivery_url": hook.url,
        "date_created": _stamp(hook.created_at),
        "date_created_gmt": _stamp(hook.created_at),
        "date_modified": _stamp(modified),
        "date_modified_gmt": _stamp(modified),
        "_links": {
            "self": [{"href": f"{link}/{hook.id}"}],
            "collection": [{"href": link}],
        },
    }
