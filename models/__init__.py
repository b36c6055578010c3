"""SQLAlchemy models and database setup (docs/architecture.md, data model).

Imports nothing of ours."""

from models.admin import AdminSession, LoginFailure
from models.base import Base
from models.commerce import Category, Customer, Order, OrderLine, Product
from models.erp_reads import ErpRead, ErpReading, ErpReadStatus
from models.items import Item
from models.reservations import Reservation, ReservationEnd
from models.sites import Platform, Site, SkuRule, Source, SourceKind
from models.subscribers import DeliveryStatus, EventDelivery, EventSubscription
from models.subscriptions import Subscription, SubscriptionState
from models.sync import BatchStatus, RunStatus, SyncBatch, SyncRun
from models.webhook_log import EventKind, WebhookDelivery, WebhookLog, WebhookStatus

__all__ = [
    "AdminSession",
    "Base",
    "BatchStatus",
    "Category",
    "Customer",
    "DeliveryStatus",
    "ErpRead",
    "ErpReadStatus",
    "ErpReading",
    "EventDelivery",
    "EventKind",
    "EventSubscription",
    "Item",
    "LoginFailure",
    "Order",
    "OrderLine",
    "Platform",
    "Product",
    "Reservation",
    "ReservationEnd",
    "RunStatus",
    "Site",
    "SkuRule",
    "Source",
    "SourceKind",
    "Subscription",
    "SubscriptionState",
    "SyncBatch",
    "SyncRun",
    "WebhookDelivery",
    "WebhookLog",
    "WebhookStatus",
]
