"""Domain logic that tasks call: full-sync runs and batches, the stock write path,
webhook event processing, the outbox. Plain functions on sessions and connectors."""
