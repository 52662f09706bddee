"""Picking free ports for the services that `chimera up` and the test stacks start."""

from __future__ import annotations

import socket

import pytest

from services.common.net import free_ports

pytestmark = pytest.mark.unit


def test_free_ports_differ_are_bindable_and_skip_the_ones_promised_elsewhere() -> None:
    promised = set(free_ports("127.0.0.1", 20))
    ports = free_ports("127.0.0.1", 20, avoid=promised)
    assert len(set(ports)) == 20
    assert not promised & set(ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))
