"""Room service process: migrate the database, serve gRPC, shut down gracefully."""

from __future__ import annotations

import logging
import sys

from services.common.clock import utcnow
from services.common.grpc_security import GrpcSecurity, open_channel
from services.common.grpc_server import GrpcServer, PortInUse, run, wait_for_signal
from services.common.log import setup_logging
from services.common.media.registry import UnknownMediaStore, open_media_store
from services.common.pb import account_pb2, account_pb2_grpc, room_pb2, room_pb2_grpc
from services.common.pb.llm_pb2_grpc import LlmServiceStub
from services.common.pb.tts_pb2_grpc import TtsServiceStub
from services.room.access import RoomAccess
from services.room.accounts.outbox import OutboxRelay
from services.room.accounts.revocations import Revocations
from services.room.accounts.service import AccountPolicy, Accounts
from services.room.accounts.servicer import AccountServicer
from services.room.catalog import ModelCatalog, VoiceCatalog
from services.room.config import RoomSettings
from services.room.events import (
    AccountDisabled,
    HumanMessagePosted,
    PresenceChanged,
    RoomChanged,
    RoomEvents,
    RoomWorkSettled,
)
from services.room.hub import RoomHub
from services.room.members import Members
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.autopilot_settings import AutopilotConfig
from services.room.orchestrator.scheduler import SchedulerLimits
from services.room.orchestrator.summary import SummaryConfig
from services.room.orchestrator.turns import Orchestrator, TurnLimits
from services.room.post_limits import PostLimiter
from services.room.quota import Quotas
from services.room.recent import RecentMessages
from services.room.rooms import Rooms
from services.room.servicer import RoomServicer
from services.room.speech.speaker import Speaker, SpeechLimits
from services.room.store.records import AutopilotRecord
from services.room.store.registry import StoreOptions, UnknownStore, default_url, open_store
from services.room.timeline import Timeline

logger = logging.getLogger(__name__)

SERVICE_NAME = room_pb2.DESCRIPTOR.services_by_name["RoomService"].full_name
ACCOUNT_SERVICE_NAME = account_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name


def subscribe(
    events: RoomEvents, hub: RoomHub, orchestrator: Orchestrator, autopilot: Autopilot
) -> None:
    """Every reaction to a room event in the service, in the order each event is handled."""
    events.subscribe(HumanMessagePosted, orchestrator.on_human_message)  # a /summary: room busy
    events.subscribe(HumanMessagePosted, autopilot.on_human_message)  # ... before autopilot looks
    events.subscribe(PresenceChanged, autopilot.on_room_stirred)
    events.subscribe(RoomWorkSettled, autopilot.on_room_stirred)
    events.subscribe(RoomChanged, autopilot.on_room_changed)
    events.subscribe(AccountDisabled, lambda event: hub.remove_everywhere(event.account_id))


async def serve(settings: RoomSettings) -> None:
    """Run the room service until SIGINT/SIGTERM."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    autopilot_defaults = AutopilotRecord(
        max_turns=settings.autopilot_max_turns,
        token_budget=settings.autopilot_token_budget,
        idle_timeout_s=settings.autopilot_idle_timeout_s,
    )
    store = await open_store(
        settings.database_url or default_url(settings.data_dir),
        StoreOptions(autopilot_defaults=autopilot_defaults),
    )
    repo = store.rooms
    media = await open_media_store(settings)
    stale = await repo.interrupt_streaming()
    if stale:
        logger.info(
            "replies left streaming by the last run marked interrupted", extra={"count": len(stale)}
        )
    events = RoomEvents()
    hub = RoomHub(typing_ttl_s=settings.typing_ttl_s, events=events)
    account_repo = store.accounts
    await account_repo.delete_expired(utcnow())
    revocations = Revocations()
    accounts = Accounts(
        account_repo,
        revocations,
        policy=AccountPolicy.from_settings(settings),
        events=events,
    )
    quotas = Quotas(
        store.usage,
        user_daily_tokens=settings.ai_user_daily_tokens,
        room_daily_tokens=settings.ai_room_daily_tokens,
    )
    security = GrpcSecurity.from_settings(settings)
    llm_channel = open_channel(settings.llm_addr, security)
    tts_channel = open_channel(settings.tts_addr, security)
    tts = TtsServiceStub(tts_channel)
    limits = TurnLimits(
        delta_interval_s=settings.delta_interval_ms / 1000,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        context_messages=settings.context_messages,
        timeout_s=settings.llm_timeout_s,
    )
    summary = SummaryConfig(
        model=settings.summary_model,
        max_tokens=settings.summary_max_tokens,
        keep_ratio=settings.summary_keep_ratio,
        timeout_s=settings.summary_timeout_s,
        context_messages=settings.context_messages,
    )
    llm = LlmServiceStub(llm_channel)
    models = ModelCatalog(llm)
    slots = SchedulerLimits(
        global_slots=settings.ai_global_concurrency,
        room_slots=settings.ai_room_concurrency,
        account_slots=settings.ai_account_concurrency,
        account_queue=settings.ai_account_queue,
    )
    # The newest messages of the busiest rooms stay in memory (a reply's context).
    timeline = Timeline(repo, hub, RecentMessages(repo, per_room=settings.context_messages))
    speaker = Speaker(
        timeline,
        tts,
        media,
        SpeechLimits(
            timeout_s=settings.speech_timeout_s,
            max_sentence_chars=settings.speech_max_sentence_chars,
        ),
    )
    orchestrator = Orchestrator(timeline, llm, limits, quotas, summary, slots, speaker)
    autopilot = Autopilot(
        timeline,
        orchestrator,
        AutopilotConfig(
            delay_base_s=settings.autopilot_delay_base_s,
            delay_per_char_s=settings.autopilot_delay_per_char_s,
            delay_max_s=settings.autopilot_delay_max_s,
            seed=settings.autopilot_seed,
        ),
        models,
    )

    rooms = Rooms(
        timeline,
        RoomAccess(account_repo, store.access),
        max_message_chars=settings.max_message_chars,
        post_limits=PostLimiter(settings.post_rate, settings.post_burst),
        models=models,
        replies=orchestrator,
        voices=VoiceCatalog(tts),
    )
    subscribe(events, hub, orchestrator, autopilot)
    servicer = RoomServicer(
        rooms,
        Members(rooms),
        hub,
        orchestrator,
        session_queue_size=settings.session_queue_size,
        autopilot=autopilot,
        speaker=speaker,
    )
    server = GrpcServer(
        host=settings.room_host,
        port=settings.room_port,
        service_names=[SERVICE_NAME, ACCOUNT_SERVICE_NAME],
        reflection_enabled=settings.grpc_reflection,
        security=security,
    )
    room_pb2_grpc.add_RoomServiceServicer_to_server(servicer, server.server)
    account_pb2_grpc.add_AccountServiceServicer_to_server(AccountServicer(accounts), server.server)
    port = await server.start()
    logger.info("room service serving", extra={"address": f"{settings.room_host}:{port}"})
    await autopilot.resume()
    if resumed := await orchestrator.resume():
        logger.info("replies left queued by the last run queued again", extra={"count": resumed})
    outbox = OutboxRelay(store.outbox, accounts, settings.revocation_poll_s)
    await outbox.start()
    try:
        await wait_for_signal()
        logger.info("room service stopping")

        async def before_stop() -> None:
            await outbox.close()
            revocations.close()  # gateways' watches end now rather than at the grace deadline
            await autopilot.close()  # still on in the database: it resumes at the next start
            await orchestrator.close()  # streaming replies end as interrupted; queued ones wait
            await speaker.close()  # replies still speaking stop; how far they got is stored
            await servicer.close_streams(settings.shutdown_grace_s)

        await server.stop(settings.shutdown_grace_s, before_stop=before_stop)
    finally:
        await outbox.close()
        await llm_channel.close()
        await tts_channel.close()
        await media.close()
        await store.close()
    logger.info("room service stopped")


def main() -> None:
    """Entry point for `chimera room`."""
    settings = RoomSettings()
    setup_logging("room", settings.log_level, settings.log_format)
    try:
        run(serve(settings))
    except (PortInUse, UnknownStore, UnknownMediaStore) as exc:
        logger.error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
