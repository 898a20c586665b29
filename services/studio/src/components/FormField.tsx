import { useId, type ReactNode } from "react";

export interface FieldIds {
  id: string;
  describedBy: string;
  invalid: boolean;
}

/** A labelled form field whose helper text is replaced by its error (red border, `aria-invalid`). */
export function Field(props: { label: string; required?: boolean; error?: string; help: ReactNode; children: (ids: FieldIds) => ReactNode }) {
  const id = useId();
  const helpId = `${id}-help`;
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label}
        {props.required && (
          <span className="required" aria-hidden>
            {" "}
            *
          </span>
        )}
      </label>
      {props.children({ id, describedBy: helpId, invalid: Boolean(props.error) })}
      <p id={helpId} className={props.error ? "field-error" : "helper"}>
        {props.error ?? props.help}
      </p>
    </div>
  );
}

/** The attributes every control of a `Field` carries. */
export function controlProps(ids: FieldIds, name: string) {
  return {
    id: ids.id,
    "data-field": name,
    className: ids.invalid ? "invalid" : undefined,
    "aria-invalid": ids.invalid || undefined,
    "aria-describedby": ids.describedBy,
  };
}
