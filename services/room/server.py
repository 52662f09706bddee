"""Room service process: migrate the database, serve gRPC, shut down gracefully."""

from __future__ import annotations

import asyncio
import logging

from services.common.grpc_server import GrpcServer, wait_for_signal
from services.common.log import setup_logging
from services.common.pb import room_pb2, room_pb2_grpc
from services.room.config import RoomSettings
from services.room.hub import RoomHub
from services.room.rooms import Rooms
from services.room.servicer import RoomServicer
from services.room.store.database import create_engine, default_url, migrate
from services.room.store.repository import RoomRepository

logger = logging.getLogger(__name__)

SERVICE_NAME = room_pb2.DESCRIPTOR.services_by_name["RoomService"].full_name


async def serve(settings: RoomSettings) -> None:
    """Run the room service until SIGINT/SIGTERM."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url or default_url(settings.data_dir))
    await migrate(engine)
    hub = RoomHub(typing_ttl_s=settings.typing_ttl_s)
    rooms = Rooms(RoomRepository(engine), hub, max_message_chars=settings.max_message_chars)
    servicer = RoomServicer(rooms, hub, session_queue_size=settings.session_queue_size)
    server = GrpcServer(
        host=settings.room_host,
        port=settings.room_port,
        service_names=[SERVICE_NAME],
        reflection_enabled=settings.grpc_reflection,
    )
    room_pb2_grpc.add_RoomServiceServicer_to_server(servicer, server.server)
    port = await server.start()
    logger.info("room service serving", extra={"address": f"{settings.room_host}:{port}"})
    try:
        await wait_for_signal()
        logger.info("room service stopping")
        await server.stop(
            settings.shutdown_grace_s,
            before_stop=lambda: servicer.close_streams(settings.shutdown_grace_s),
        )
    finally:
        await engine.dispose()
    logger.info("room service stopped")


def main() -> None:
    """Entry point for `chimera room`."""
    settings = RoomSettings()
    setup_logging("room", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
