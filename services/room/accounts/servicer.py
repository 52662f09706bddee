"""The AccountService gRPC servicer: wire types in, typed errors mapped to status out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc

from services.common.grpc_errors import streaming, unary
from services.common.grpc_security import CLIENT_ADDR_KEY
from services.common.pb import account_pb2 as pb
from services.common.pb import account_pb2_grpc
from services.room.accounts.service import Accounts, Grant
from services.room.convert import account_pb, principal_pb, token_pb

logger = logging.getLogger(__name__)


def _grant(grant: Grant) -> pb.SessionGrant:
    return pb.SessionGrant(
        principal=principal_pb(grant.account, grant.credential), token=grant.secret
    )


def client_addr(context: grpc.aio.ServicerContext) -> str:
    """The end client's address the gateway names in the call's metadata ("" for none)."""
    for key, value in context.invocation_metadata() or ():
        if key == CLIENT_ADDR_KEY and isinstance(value, str):
            return value
    return ""


class AccountServicer(account_pb2_grpc.AccountServiceServicer):
    """Accounts, sessions, API tokens and the revocation feed for gateways."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    @unary
    async def Register(
        self, request: pb.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionGrant:
        grant = await self.accounts.register(
            request.username, request.password, request.name, source=client_addr(context)
        )
        return _grant(grant)

    @unary
    async def Login(
        self, request: pb.LoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionGrant:
        grant = await self.accounts.login(
            request.username, request.password, source=client_addr(context)
        )
        return _grant(grant)

    @unary
    async def CreateGuest(
        self, request: pb.GuestRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionGrant:
        return _grant(await self.accounts.create_guest(request.name))

    @unary
    async def Logout(
        self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogoutResponse:
        await self.accounts.logout(request.token)
        return pb.LogoutResponse()

    @unary
    async def Authenticate(
        self, request: pb.AuthenticateRequest, context: grpc.aio.ServicerContext
    ) -> pb.Principal:
        return principal_pb(*await self.accounts.authenticate(request.token))

    @unary
    async def GetAccount(
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        return account_pb(await self.accounts.get(request.account_id))

    @unary
    async def CreateToken(
        self, request: pb.CreateTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTokenResponse:
        token, secret = await self.accounts.create_token(
            request.actor_id, request.name, request.expires_in_days
        )
        return pb.CreateTokenResponse(token=token_pb(token), secret=secret)

    @unary
    async def ListTokens(
        self, request: pb.ListTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTokensResponse:
        tokens = await self.accounts.list_tokens(request.actor_id)
        return pb.ListTokensResponse(tokens=[token_pb(t) for t in tokens])

    @unary
    async def RevokeToken(
        self, request: pb.RevokeTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeTokenResponse:
        await self.accounts.revoke_token(request.actor_id, request.token_id)
        return pb.RevokeTokenResponse()

    @unary
    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAccountsResponse:
        accounts = await self.accounts.list_accounts(request.actor_id, request.limit)
        return pb.ListAccountsResponse(accounts=[account_pb(a) for a in accounts])

    @unary
    async def SetAccountDisabled(
        self, request: pb.SetAccountDisabledRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        account = await self.accounts.set_disabled(
            request.actor_id, request.account_id, request.disabled
        )
        return account_pb(account)

    @streaming
    async def WatchRevocations(
        self, request: pb.WatchRevocationsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.Revocation]:
        # Headers at once: the gateway knows it is watching before the first revocation.
        watch = self.accounts.revocations.watch()
        await context.send_initial_metadata(())
        logger.info("revocation watch opened", extra={"gateway_id": request.gateway_id})
        try:
            async for revocation in watch:
                yield revocation
        finally:
            watch.close()
            logger.info("revocation watch closed", extra={"gateway_id": request.gateway_id})
