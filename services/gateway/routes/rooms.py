"""Rooms: create, list, read, change, and switch their autopilot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.common.pb import room_pb2 as pb
from services.gateway.convert import ACCESS_VALUES, room_json
from services.gateway.deps import CurrentUser, GatewayDep, actor
from services.gateway.schemas import AutopilotIn, PersonaIn, RoomIn, RoomList, RoomOut, RoomPatch

router = APIRouter(prefix="/api/rooms", tags=["rooms"])


def persona_pb(persona: PersonaIn) -> pb.Persona:
    """A persona from a request body (its fields are the proto's); the room service fills defaults."""
    return pb.Persona(**persona.model_dump(exclude_none=True))


def autopilot_patch(body: AutopilotIn) -> pb.AutopilotPatch:
    """The fields of an autopilot change that the body sets."""
    return pb.AutopilotPatch(**body.model_dump(exclude_none=True))


@router.post("", status_code=201, response_model=RoomOut)
async def create_room(body: RoomIn, user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """Create a room; you are its owner."""
    room = await gateway.rooms.CreateRoom(
        pb.CreateRoomRequest(
            actor=actor(user),
            name=body.name,
            personas=[persona_pb(p) for p in body.personas],
            access=ACCESS_VALUES[body.access],
            allow_guests=body.allow_guests,
        ),
        timeout=gateway.timeout,
    )
    return room_json(room)


@router.get("", response_model=RoomList)
async def list_rooms(user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """The rooms you may see (yours and open ones), newest first."""
    reply = await gateway.rooms.ListRooms(
        pb.ListRoomsRequest(actor=actor(user)), timeout=gateway.timeout
    )
    return {"rooms": [room_json(room) for room in reply.rooms]}


@router.get("/{room_id}", response_model=RoomOut)
async def get_room(room_id: str, user: CurrentUser, gateway: GatewayDep) -> dict[str, Any]:
    """One room (404 if it does not exist or is not yours to see)."""
    room = await gateway.rooms.GetRoom(
        pb.GetRoomRequest(room_id=room_id, actor=actor(user)), timeout=gateway.timeout
    )
    return room_json(room)


@router.patch("/{room_id}", response_model=RoomOut)
async def update_room(
    room_id: str, body: RoomPatch, user: CurrentUser, gateway: GatewayDep
) -> dict[str, Any]:
    """Owners: rename, replace personas, change access; members: autopilot. All see it live."""
    request = pb.UpdateRoomRequest(actor=actor(user), room_id=room_id)
    if body.name is not None:
        request.name = body.name
    if body.personas is not None:
        request.personas.personas.extend(persona_pb(p) for p in body.personas)
        request.personas.SetInParent()  # an empty list still means "no personas"
    if body.access is not None:
        request.access = ACCESS_VALUES[body.access]
    if body.allow_guests is not None:
        request.allow_guests = body.allow_guests
    if body.autopilot is not None:
        request.autopilot.CopyFrom(autopilot_patch(body.autopilot))
    room = await gateway.rooms.UpdateRoom(request, timeout=gateway.timeout)
    return room_json(room)
