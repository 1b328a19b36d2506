"""Replicas sharing state through Redis (`--state-url`): the replicas' connection, locks and
channels (`shared`), notifications to every replica (`bus`), resumable streams (`event_store`).
Without `--state-url` none of this is built."""
