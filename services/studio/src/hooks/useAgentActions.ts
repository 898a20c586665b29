import { createElement, useCallback, type ReactNode } from "react";
import type { AgentSaveProblems } from "../components/AgentDialog";
import { AgentAssignedNotice } from "../components/AgentAssigned";
import { useToasts } from "../components/Toasts";
import { assignedNumbers } from "../lib/agentForm";
import { namedUses } from "../lib/agentUsage";
import { ApiError, type Api } from "../lib/api";
import { announceAgentChange } from "../lib/realtime";
import type { Agent, AgentCreate, AgentUpdate, PhoneNumber } from "../lib/types";
import type { useApiErrors } from "./useApiErrors";

interface Options {
  api: Api;
  errors: ReturnType<typeof useApiErrors>;
  upsert: (agent: Agent) => void;
  remove: (id: string) => void;
  loadNumbers: () => Promise<PhoneNumber[]>;
  visible: Agent[];
  selectedId: string | null;
  select: (id: string | null) => void;
  closeDialog: () => void;
}

/** The Agents page's writes: create, edit and delete, each with its toasts and its refusals explained. */
export function useAgentActions({ api, errors, upsert, remove, loadNumbers, visible, selectedId, select, closeDialog }: Options) {
  const toasts = useToasts();
  const { apiError } = errors;

  /** numbers-api's 409 `AgentInUse`, with the numbers it names linked (read again, so each has its id). */
  const explainAssigned = useCallback(
    async (agent: Agent, error: ApiError, action: string): Promise<ReactNode> => {
      const named = assignedNumbers(error.problem.detail);
      const uses = namedUses(named, agent.id, await loadNumbers());
      return createElement(AgentAssignedNotice, { agentName: agent.name, uses, action });
    },
    [loadNumbers],
  );

  const submitAgent = useCallback(
    async (body: AgentCreate | AgentUpdate, existing: Agent | null): Promise<AgentSaveProblems | null> => {
      try {
        const saved = existing ? await api.updateAgent(existing.id, body as AgentUpdate) : await api.createAgent(body as AgentCreate);
        upsert(saved);
        announceAgentChange();
        toasts.show({ tone: "success", message: existing ? `Agent ${saved.name} saved` : `Agent ${saved.name} created` });
        closeDialog();
        if (!existing) select(saved.id);
        return null;
      } catch (error) {
        const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
        const what = existing ? "Could not save the agent" : "Could not create the agent";
        if (err.fieldErrors.length > 0) {
          toasts.show({ tone: "error", message: `${what}: ${[...new Set(err.fieldErrors.map((f) => f.message))].join("; ")}` });
          return { problems: err.fieldErrors };
        }
        if (err.status === 409 && existing) {
          // A voice agent on phone numbers cannot become text-only.
          toasts.show({ tone: "error", message: `${what}: ${err.message}` });
          const assigned = await explainAssigned(existing, err, "Unassign it from these numbers first, or keep a voice architecture (Pipeline or Realtime).");
          return { problems: [{ field: "architecture", message: err.message }], assigned };
        }
        apiError(err, what, err.retryable ? () => void submitAgent(body, existing) : undefined);
        return { problems: [{ field: "form", message: err.message }] };
      }
    },
    [api, apiError, closeDialog, explainAssigned, select, toasts, upsert],
  );

  /** Resolves with the explanation to show in the dialog when numbers-api refuses (409), else null. */
  const deleteAgent = useCallback(
    async (agent: Agent): Promise<ReactNode | null> => {
      try {
        await api.deleteAgent(agent.id);
      } catch (error) {
        const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
        if (err.status === 409) return explainAssigned(agent, err, "Unassign it from these numbers before deleting it.");
        if (err.status === 404) remove(agent.id);
        apiError(err, "Could not delete the agent", err.retryable ? () => void deleteAgent(agent) : undefined);
        closeDialog();
        return null;
      }
      const index = visible.findIndex((a) => a.id === agent.id);
      const next = visible[index + 1] ?? visible[index - 1] ?? null;
      remove(agent.id);
      announceAgentChange();
      toasts.show({ tone: "success", message: `Agent ${agent.name} deleted` });
      closeDialog();
      if (selectedId === agent.id) select(next && next.id !== agent.id ? next.id : null);
      return null;
    },
    [api, apiError, closeDialog, explainAssigned, remove, select, selectedId, toasts, visible],
  );

  return { submitAgent, deleteAgent };
}
