"""The gateway's room links: at most one RoomSession stream per room with local sockets."""

from __future__ import annotations

import asyncio

from services.common.ids import new_id
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.ws.link import RoomLink


class GatewayHub:
    """Creates a room's link for its first local socket and drops it after the last."""

    def __init__(self, stub: RoomServiceStub, *, call_timeout_s: float) -> None:
        self.stub = stub
        self.gateway_id = new_id()
        self.call_timeout_s = call_timeout_s
        self.links: dict[str, RoomLink] = {}

    def link(self, room_id: str) -> RoomLink:
        """The room's link, opened if this is its first local socket."""
        link = self.links.get(room_id)
        if link is None:
            link = self.links[room_id] = RoomLink(
                room_id,
                self.stub,
                gateway_id=self.gateway_id,
                call_timeout_s=self.call_timeout_s,
                on_closed=self._forget,
            )
        return link

    def _forget(self, link: RoomLink) -> None:
        if self.links.get(link.room_id) is link:
            del self.links[link.room_id]

    async def close(self) -> None:
        """Close every stream (gateway shutdown)."""
        links, self.links = list(self.links.values()), {}
        await asyncio.gather(*(link.close() for link in links))
