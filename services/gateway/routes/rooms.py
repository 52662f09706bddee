"""Rooms: create, list, read, rename, and switch their autopilot."""

from __future__ import annotations

from fastapi import APIRouter

from services.common.pb import room_pb2 as pb
from services.gateway.convert import room_json
from services.gateway.deps import CurrentUser, GatewayDep
from services.gateway.schemas import AutopilotIn, PersonaIn, RoomIn, RoomList, RoomOut, RoomPatch

router = APIRouter(prefix="/api/rooms", tags=["rooms"])


def actor(user: CurrentUser) -> pb.User:
    """The caller as the room service knows it."""
    return pb.User(id=user.id, name=user.name)


def persona_pb(persona: PersonaIn) -> pb.Persona:
    """A persona from a request body; the room service validates and fills defaults."""
    message = pb.Persona(
        handle=persona.handle,
        name=persona.name,
        model=persona.model,
        system_prompt=persona.system_prompt,
    )
    if persona.temperature is not None:
        message.temperature = persona.temperature
    if persona.max_tokens is not None:
        message.max_tokens = persona.max_tokens
    if persona.talkativeness is not None:
        message.talkativeness = persona.talkativeness
    message.muted = persona.muted
    return message


def autopilot_patch(body: AutopilotIn) -> pb.AutopilotPatch:
    """The fields of an autopilot change that the body sets."""
    return pb.AutopilotPatch(**body.model_dump(exclude_none=True))


@router.post("", status_code=201, response_model=RoomOut)
async def create_room(body: RoomIn, user: CurrentUser, gateway: GatewayDep) -> dict:
    """Create a room."""
    room = await gateway.rooms.CreateRoom(
        pb.CreateRoomRequest(
            actor=actor(user), name=body.name, personas=[persona_pb(p) for p in body.personas]
        ),
        timeout=gateway.settings.room_timeout_s,
    )
    return room_json(room)


@router.get("", response_model=RoomList)
async def list_rooms(user: CurrentUser, gateway: GatewayDep) -> dict:
    """Rooms, newest first."""
    reply = await gateway.rooms.ListRooms(
        pb.ListRoomsRequest(), timeout=gateway.settings.room_timeout_s
    )
    return {"rooms": [room_json(room) for room in reply.rooms]}


@router.get("/{room_id}", response_model=RoomOut)
async def get_room(room_id: str, user: CurrentUser, gateway: GatewayDep) -> dict:
    """One room."""
    room = await gateway.rooms.GetRoom(
        pb.GetRoomRequest(room_id=room_id), timeout=gateway.settings.room_timeout_s
    )
    return room_json(room)


@router.patch("/{room_id}", response_model=RoomOut)
async def update_room(
    room_id: str, body: RoomPatch, user: CurrentUser, gateway: GatewayDep
) -> dict:
    """Rename a room, replace its personas or change its autopilot; members see it live."""
    request = pb.UpdateRoomRequest(actor=actor(user), room_id=room_id)
    if body.name is not None:
        request.name = body.name
    if body.personas is not None:
        request.personas.personas.extend(persona_pb(p) for p in body.personas)
        request.personas.SetInParent()  # an empty list still means "no personas"
    if body.autopilot is not None:
        request.autopilot.CopyFrom(autopilot_patch(body.autopilot))
    room = await gateway.rooms.UpdateRoom(request, timeout=gateway.settings.room_timeout_s)
    return room_json(room)
