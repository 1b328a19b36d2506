"""Replicas sharing state through Redis (`--state-url`): the fleet's connection, locks and
channels (`fleet`), notifications to every replica (`bus`), resumable streams (`event_store`).
Without `--state-url` none of this is built."""
