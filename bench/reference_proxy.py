"""The floor under call-orchestrator's overhead in bench/outbound.py: a bare route that forwards
`POST /telephony/outbound-call` to the emulator's `CreateSIPParticipant` and answers.

Same stack as the service (uvicorn with uvloop and httptools, FastAPI, a pydantic body, livekit-api
reusing its tokens) and nothing of the service's work: no database, no agent dispatch, no events.
Its overhead over the direct call is what one HTTP hop through Python costs on the machine, the
part of the 3 ms budget no implementation of the service can spend on anything else.

    REFERENCE_TRUNK_ID=... LIVEKIT_URL=... LIVEKIT_API_KEY=... LIVEKIT_API_SECRET=... \
        python bench/reference_proxy.py PORT
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from livekit import api as lkapi
from pydantic import BaseModel

from talkifai_common.livekit import LiveKitClient


class CallRequest(BaseModel):
    to_number: str
    from_number: str


def create_app() -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        livekit = LiveKitClient(
            os.environ["LIVEKIT_URL"],
            os.environ["LIVEKIT_API_KEY"],
            os.environ["LIVEKIT_API_SECRET"],
            timeout_s=10.0,
        )
        app.state.livekit = livekit
        try:
            yield
        finally:
            await livekit.aclose()

    app = FastAPI(lifespan=lifespan)
    trunk_id = os.environ["REFERENCE_TRUNK_ID"]

    @app.post("/telephony/outbound-call")
    async def outbound_call(body: CallRequest) -> dict[str, object]:
        digits = body.to_number.lstrip("+")
        request = lkapi.CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id,
            sip_call_to=body.to_number,
            sip_number=body.from_number,
            room_name=f"reference_{digits}",
            participant_identity=f"sip_{digits}",
            wait_until_answered=True,
        )
        request.ringing_timeout.seconds = 30
        info = await app.state.livekit.api().sip.create_sip_participant(request)
        return {"success": True, "room_name": info.room_name}

    return app


if __name__ == "__main__":
    uvicorn.run(create_app(), host="127.0.0.1", port=int(sys.argv[1]), log_config=None)
