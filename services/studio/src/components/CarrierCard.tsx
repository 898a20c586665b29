import { AlertTriangle, ShieldAlert, ShieldCheck } from "lucide-react";
import { useId } from "react";
import { inboundSecurity, inboundSummary } from "../lib/carriers";
import { MEDIA_ENCRYPTION_LABELS, TRANSPORT_LABELS, type CarrierProfile, type PhoneNumber } from "../lib/types";

interface Props {
  number: PhoneNumber;
  profile: CarrierProfile | null;
  canManage: boolean;
  onEditInbound: () => void;
}

/** The details' "Carrier and Inbound Security": which carrier, and who may call the number. */
export function CarrierCard({ number, profile, canManage, onEditInbound }: Props) {
  const titleId = useId();
  const security = inboundSecurity(number, profile);
  const Icon = security.anySource || security.open ? ShieldAlert : ShieldCheck;
  return (
    <section className="card" aria-labelledby={titleId} data-testid="carrier-card">
      <h3 id={titleId}>
        <Icon size={18} aria-hidden /> Carrier and Inbound Security
      </h3>
      <dl className="facts">
        <dt>Carrier</dt>
        <dd data-testid="carrier-name">{profile?.name ?? number.carrier}</dd>
        <dt>Transport</dt>
        <dd>{TRANSPORT_LABELS[number.sip_transport]}</dd>
        <dt>Media encryption</dt>
        <dd>{MEDIA_ENCRYPTION_LABELS[number.media_encryption]}</dd>
        <dt>Inbound calls</dt>
        <dd data-testid="inbound-summary">{inboundSummary(security, profile)}</dd>
        {number.inbound_auth_username && (
          <>
            <dt>Inbound username</dt>
            <dd>{number.inbound_auth_username}</dd>
          </>
        )}
      </dl>
      {security.anySource && (
        <p className="field-warning field-warning-on" role="note">
          <AlertTriangle size={14} aria-hidden /> Anyone who finds your SIP address can reach the inbound agent. Set the carrier's addresses or
          credentials instead.
        </p>
      )}
      {security.open && (
        <p className="field-warning field-warning-on" role="note">
          <AlertTriangle size={14} aria-hidden /> No allowed addresses or credentials: an inbound agent cannot be assigned until the number
          accepts calls only from its carrier.
        </p>
      )}
      {canManage && (
        <div>
          <button type="button" className="button secondary" onClick={onEditInbound}>
            Edit inbound security
          </button>
        </div>
      )}
    </section>
  );
}

/** Why an inbound agent was refused (the number answers anyone), and where to fix it. */
export function InboundRefusal({ canManage, onEditInbound }: { canManage: boolean; onEditInbound: () => void }) {
  return (
    <div className="refusal" role="note" data-testid="inbound-refusal">
      <ShieldAlert size={18} aria-hidden />
      <div>
        <p>
          This number accepts calls from any address, so anyone could reach the agent. Allow only your carrier's addresses or set inbound
          credentials first{canManage ? "" : " (an owner or admin can)"}, then assign the agent.
        </p>
        {canManage && (
          <button type="button" className="button secondary small" onClick={onEditInbound}>
            Open inbound security settings
          </button>
        )}
      </div>
    </div>
  );
}
