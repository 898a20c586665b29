import { AlertTriangle, ArrowRight } from "lucide-react";
import { usageLabel, type NumberUse } from "../lib/agentUsage";
import { followLink, numberPath, ROUTE_PATHS } from "../lib/route";

/** The links to phone numbers: each opens the number's details on the Phone Numbers page. */
export function NumberLinks({ uses }: { uses: NumberUse[] }) {
  return (
    <ul className="number-links">
      {uses.map((use) => (
        <li key={use.phoneNumber}>
          {use.id ? (
            <a href={numberPath(use.id)} onClick={followLink}>
              {use.phoneNumber}
            </a>
          ) : (
            <span className="number-link-plain">{use.phoneNumber}</span>
          )}
          {usageLabel(use) && <span className="muted"> · {usageLabel(use)}</span>}
        </li>
      ))}
    </ul>
  );
}

/** numbers-api's 409 `AgentInUse`, explained: which numbers use the agent, what to do, and the way there. */
export function AgentAssignedNotice({ agentName, uses, action }: { agentName: string; uses: NumberUse[]; action: string }) {
  const count = uses.length;
  return (
    <>
      <AlertTriangle size={18} aria-hidden />
      <div className="assigned-body">
        <p className="assigned-title">
          {agentName} is assigned to {count === 1 ? "a phone number" : `${count} phone numbers`}
        </p>
        <p>{action}</p>
        <NumberLinks uses={uses} />
        <a className="assigned-go" href={uses.length === 1 && uses[0].id ? numberPath(uses[0].id) : ROUTE_PATHS.numbers} onClick={followLink}>
          Go to Phone Numbers <ArrowRight size={14} aria-hidden />
        </a>
      </div>
    </>
  );
}
