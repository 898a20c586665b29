import type { DetailsChanges, DetailsErrors } from "../components/PhoneNumberDetails";
import { useToasts } from "../components/Toasts";
import { ApiError, type Api } from "../lib/api";
import { announce } from "../lib/realtime";
import type { FieldProblem, PhoneNumber, PhoneNumberCheck, PhoneNumberWrite } from "../lib/types";
import type { useApiErrors } from "./useApiErrors";

interface Context {
  api: Api;
  orgId: string;
  errors: ReturnType<typeof useApiErrors>;
  /** The page's store of numbers. */
  upsert: (number: PhoneNumber) => void;
  remove: (id: string) => void;
  applyCheck: (id: string, check: PhoneNumberCheck) => void;
  refresh: () => Promise<void>;
  /** The list as shown, to pick the next number when the selected one is deleted. */
  visible: PhoneNumber[];
  selectedId: string | null;
  select: (id: string | null) => void;
  closeDialog: () => void;
}

// inbound_allowed_addresses: the number's inbound side is open, so an inbound agent was refused.
const DETAILS_FIELDS = ["inbound_agent_id", "outbound_agent_id", "webhook_url", "recording_mode", "inbound_allowed_addresses"];

/** The page's writes (add, edit, delete, save the details card): each applied, announced and toasted. */
export function usePhoneNumberActions({ api, orgId, errors, upsert, remove, applyCheck, refresh, visible, selectedId, select, closeDialog }: Context) {
  const toasts = useToasts();
  const { apiError, writeFailed } = errors;

  /** Add (`editing` null) or edit a number; the field problems to show in the form, or null when saved. */
  const submitNumber = async (body: PhoneNumberWrite, editing: PhoneNumber | null): Promise<FieldProblem[] | null> => {
    const retry = () => void submitNumber(body, editing).then((problems) => problems === null && closeDialog());
    try {
      if (editing) {
        if (Object.keys(body).length === 0) {
          closeDialog();
          toasts.show({ tone: "info", message: "No changes to save" });
          return null;
        }
        const updated = await api.updatePhoneNumber(editing.id, body);
        upsert(updated);
        announce("phoneNumberUpdated", { orgId, id: updated.id, phoneNumber: updated });
        toasts.show({ tone: "success", message: `Phone number ${updated.phone_number} updated` });
      } else {
        const created = await api.createPhoneNumber(body);
        upsert(created);
        select(created.id);
        announce("phoneNumberAdded", { orgId, id: created.id, phoneNumber: created });
        toasts.show({ tone: "success", message: `Phone number ${created.phone_number} added` });
      }
      closeDialog();
      void refresh();
      return null;
    } catch (error) {
      if (editing && error instanceof ApiError && error.status === 404) {
        remove(editing.id);
        closeDialog();
      }
      return writeFailed(error, editing ? "Could not update the phone number" : "Could not add the phone number", retry);
    }
  };

  /** Delete a number (already gone counts as deleted); the selection moves to its neighbour. */
  const deleteNumber = async (number: PhoneNumber): Promise<void> => {
    const index = visible.findIndex((n) => n.id === number.id);
    try {
      await api.deletePhoneNumber(number.id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        apiError(error, "Could not delete the phone number", () => void deleteNumber(number));
        return;
      }
    }
    remove(number.id);
    announce("phoneNumberDeleted", { orgId, id: number.id, phoneNumber: number });
    toasts.show({ tone: "success", message: `Phone number ${number.phone_number} deleted` });
    closeDialog();
    if (selectedId === number.id) {
      const rest = visible.filter((n) => n.id !== number.id);
      const next = rest[Math.min(Math.max(index, 0), rest.length - 1)] ?? null;
      select(next ? next.id : null);
    }
  };

  /** Save the details card: agent assignments, then webhook and recording; errors by field. */
  const saveDetails = async (number: PhoneNumber, changes: DetailsChanges): Promise<DetailsErrors | null> => {
    const retry = () => void saveDetails(number, changes);
    if (!changes.assignmentsChanged && !changes.settingsChanged) {
      toasts.show({ tone: "info", message: "No changes to save" });
      return null;
    }
    try {
      let result = number;
      if (changes.assignmentsChanged) {
        result = await api.assignAgents({
          phone_number: number.phone_number,
          inbound_agent_id: changes.inboundAgentId,
          outbound_agent_id: changes.outboundAgentId,
        });
      }
      if (changes.settingsChanged) {
        result = await api.updatePhoneNumber(number.id, { webhook_url: changes.webhookUrl, recording_mode: changes.recordingMode });
      }
      upsert(result);
      announce("phoneNumberUpdated", { orgId, id: result.id, phoneNumber: result });
      toasts.show({ tone: "success", message: "Agent assignments saved successfully" });
      void refresh();
      return null;
    } catch (error) {
      const problems = writeFailed(error, "Could not save agent assignments", retry);
      const fieldErrors: DetailsErrors = {};
      for (const p of problems) {
        const field = p.field.split(".").pop() ?? "form";
        const key = DETAILS_FIELDS.includes(field) ? field : "form";
        fieldErrors[key] = fieldErrors[key] ? `${fieldErrors[key]}; ${p.message}` : p.message;
      }
      return fieldErrors;
    }
  };

  /** Run the trunk doctor on a number; its report, or null when the check could not run. */
  const checkNumber = async (number: PhoneNumber): Promise<PhoneNumberCheck | null> => {
    try {
      const check = await api.checkPhoneNumber(number.id);
      applyCheck(number.id, check);
      announce("phoneNumberUpdated", { orgId, id: number.id, phoneNumber: { ...number, last_check: check } });
      return check;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) remove(number.id);
      apiError(error, "Could not check the trunk", () => void checkNumber(number));
      return null;
    }
  };

  return { submitNumber, deleteNumber, saveDetails, checkNumber };
}
