"""Room service process: migrate the database, serve gRPC, shut down gracefully."""

from __future__ import annotations

import asyncio
import logging

import grpc

from services.common.grpc_server import GrpcServer, channel_options, wait_for_signal
from services.common.log import setup_logging
from services.common.pb import room_pb2, room_pb2_grpc
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.room.config import RoomSettings
from services.room.hub import RoomHub
from services.room.orchestrator.turns import Orchestrator, TurnLimits
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
    repo = RoomRepository(engine)
    stale = await repo.interrupt_streaming()
    if stale:
        logger.info(
            "replies left streaming by the last run marked interrupted", extra={"count": len(stale)}
        )
    hub = RoomHub(typing_ttl_s=settings.typing_ttl_s)
    llm_channel = grpc.aio.insecure_channel(settings.llm_addr, options=channel_options())
    limits = TurnLimits(
        room_concurrency=settings.ai_room_concurrency,
        global_concurrency=settings.ai_global_concurrency,
        delta_interval_s=settings.delta_interval_ms / 1000,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        context_messages=settings.context_messages,
        timeout_s=settings.llm_timeout_s,
    )
    orchestrator = Orchestrator(repo, hub, LlmServiceStub(llm_channel), limits)
    rooms = Rooms(
        repo,
        hub,
        max_message_chars=settings.max_message_chars,
        on_human_message=orchestrator.on_human_message,
    )
    servicer = RoomServicer(
        rooms, hub, orchestrator, session_queue_size=settings.session_queue_size
    )
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

        async def before_stop() -> None:
            await orchestrator.close()  # replies in progress end as interrupted, seen by all
            await servicer.close_streams(settings.shutdown_grace_s)

        await server.stop(settings.shutdown_grace_s, before_stop=before_stop)
    finally:
        await llm_channel.close()
        await engine.dispose()
    logger.info("room service stopped")


def main() -> None:
    """Entry point for `chimera room`."""
    settings = RoomSettings()
    setup_logging("room", settings.log_level, settings.log_format)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
