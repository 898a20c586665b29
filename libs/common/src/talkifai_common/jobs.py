"""The metadata of a `talkifai-agent` job: one contract, written by two services, read by one.

trunk-sync writes an `InboundJob` into each dispatch rule it manages
(`room_config.agents[].metadata`); call-orchestrator writes an `OutboundJob` into the
`CreateDispatch` of each outbound call; agent-runtime reads either with `read_job_metadata`. The
two are one union discriminated on `direction`, which both writers have always written, so the
dispatch rules already stored in LiveKit read as they are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

from talkifai_common.events import CallCampaignRef, CallDirection


class _Job(BaseModel):
    # A field added by a newer writer is ignored by an older reader during a rolling upgrade.
    model_config = ConfigDict(frozen=True, extra="ignore")

    agent_id: str = Field(min_length=1)


class InboundJob(_Job):
    """An inbound call's job: trunk-sync's dispatch rule names the agent, number and organization.

    The caller's number is not known when the rule is written: the SIP participant carries it.
    """

    phone_number_id: str
    phone_number: str = Field(description="Our number (E.164).")
    org_id: str
    direction: Literal[CallDirection.INBOUND] = CallDirection.INBOUND

    @property
    def call_id(self) -> None:
        """None: call-orchestrator names an inbound call from LiveKit's webhook, after dispatch."""
        return None

    @property
    def our_number(self) -> str:
        """The platform's number on this call."""
        return self.phone_number

    @property
    def remote_number(self) -> None:
        """None: the caller's number is the SIP participant's, not the rule's."""
        return None


class OutboundJob(_Job):
    """An outbound call's job: call-orchestrator's dispatch names the call and both numbers."""

    call_id: str
    direction: Literal[CallDirection.OUTBOUND] = CallDirection.OUTBOUND
    phone_number_id: str | None
    from_number: str = Field(description="Our number (E.164).")
    to_number: str
    metadata: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="The caller's `metadata` of the outbound request, or the campaign row's.",
    )
    campaign: CallCampaignRef | None = Field(
        default=None,
        description="The campaign row attempt the call is for; absent for other calls (their "
        "metadata is written as it always was).",
    )

    @model_serializer(mode="wrap")
    def _without_absent_campaign(self, write: SerializerFunctionWrapHandler) -> dict[str, Any]:
        written: dict[str, Any] = write(self)
        if written.get("campaign", 0) is None:
            del written["campaign"]
        return written

    @property
    def org_id(self) -> None:
        """None: the agent's organization is the agent's (agent-runtime's read model)."""
        return None

    @property
    def our_number(self) -> str:
        """The platform's number on this call."""
        return self.from_number

    @property
    def remote_number(self) -> str:
        """The callee."""
        return self.to_number


JobMetadata = Annotated[InboundJob | OutboundJob, Field(discriminator="direction")]
_JOB_METADATA: TypeAdapter[InboundJob | OutboundJob] = TypeAdapter(JobMetadata)


def read_job_metadata(raw: str | bytes) -> InboundJob | OutboundJob:
    """The job named by a dispatch's metadata JSON; pydantic's `ValidationError` names each
    field that breaks its rule."""
    return _JOB_METADATA.validate_json(raw)
