"""Stateless replicas behind a load balancer open each other's request state: with `--stateless`
and a token, every replica derives one key from the token."""

from __future__ import annotations

import pytest
from mcp.server.request_state import InvalidRequestState

from server.app import request_state_security
from server.settings import Settings


def sealed_by(settings: Settings) -> str:
    policy = request_state_security(settings)
    assert policy is not None
    return policy.codec.seal(b"roots asked")


def test_replicas_sharing_a_token_open_each_others_state() -> None:
    replica = Settings(stateless=True, auth_token="s3cret-token")
    other = request_state_security(Settings(stateless=True, auth_token="s3cret-token"))
    assert other is not None
    assert other.codec.unseal(sealed_by(replica)) == b"roots asked"


def test_another_token_cannot_open_it() -> None:
    stranger = request_state_security(Settings(stateless=True, auth_token="another-token"))
    assert stranger is not None
    with pytest.raises(InvalidRequestState):
        stranger.codec.unseal(sealed_by(Settings(stateless=True, auth_token="s3cret-token")))


@pytest.mark.parametrize(
    "settings",
    [Settings(), Settings(stateless=True), Settings(auth_token="s3cret-token")],
    ids=["stdio", "stateless without a token", "stateful with a token"],
)
def test_otherwise_the_sdks_own_per_process_key(settings: Settings) -> None:
    assert request_state_security(settings) is None
