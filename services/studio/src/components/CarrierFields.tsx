import { ExternalLink } from "lucide-react";
import { CUSTOM_CARRIER } from "../lib/carriers";
import type { CarrierProfile } from "../lib/types";
import { controlProps, Field } from "./FormField";

interface Props {
  carriers: CarrierProfile[];
  /** The chosen profile id; "" (add only): recognised from the termination URI. */
  value: string;
  /** The profile the number will use (the chosen one, or the one recognised). */
  effective: CarrierProfile | null;
  adding: boolean;
  error?: string;
  disabled: boolean;
  onChange: (carrier: string) => void;
}

/** The "Carrier" select and the chosen carrier's setup steps, with where they were read. */
export function CarrierFields({ carriers, value, effective, adding, error, disabled, onChange }: Props) {
  const known = carriers.some((c) => c.id === value);
  const help = carriers.length === 0
    ? "Loading carrier profiles…"
    : value === ""
      ? `Recognised from the termination URI: ${effective?.name ?? "Other carrier"}`
      : "Sets the transport, media encryption and the addresses inbound calls may come from.";
  return (
    <>
      <Field label="Carrier" error={error} help={help}>
        {(ids) => (
          <select {...controlProps(ids, "carrier")} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
            {adding && <option value="">Recognise from the termination URI</option>}
            {!known && value && <option value={value}>{value}</option>}
            {carriers.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      {effective && effective.setup_steps.length > 0 && <SetupHelp carrier={effective} />}
    </>
  );
}

function SetupHelp({ carrier }: { carrier: CarrierProfile }) {
  return (
    <details className="help-block" data-testid="carrier-setup">
      <summary>How to set up {carrier.id === CUSTOM_CARRIER ? "another carrier" : carrier.name}</summary>
      <ol className="help-steps">
        {carrier.setup_steps.map((step) => (
          <li key={step}>{step}</li>
        ))}
      </ol>
      {carrier.sources.length > 0 && (
        <>
          <p className="help-sources-title">Sources</p>
          <ul className="help-sources">
            {carrier.sources.map((source) => (
              <li key={source.url}>
                <a href={source.url} target="_blank" rel="noreferrer" title={source.note || undefined}>
                  {source.url.replace(/^https?:\/\//, "")}
                  <ExternalLink size={12} aria-hidden />
                </a>{" "}
                <span className="muted">(read {source.read_on})</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </details>
  );
}
