import { useCallback } from "react";
import { useToasts } from "../components/Toasts";
import { ApiError } from "../lib/api";
import type { FieldProblem } from "../lib/types";

/** How the page reports API failures: a toast (with Retry where trying again may help). */
export function useApiErrors() {
  const toasts = useToasts();

  const apiError = useCallback(
    (error: unknown, what: string, retry?: () => void) => {
      const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
      toasts.show({
        tone: "error",
        message: `${what}: ${err.message}`,
        action: retry && err.status !== 403 && err.status !== 401 ? { label: "Retry", onClick: retry } : undefined,
      });
    },
    [toasts],
  );

  /** A failed write: field errors go inline, the rest to a toast with Retry. */
  const writeFailed = useCallback(
    (error: unknown, what: string, retry: () => void): FieldProblem[] => {
      const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
      if (err.fieldErrors.length > 0) {
        toasts.show({ tone: "error", message: `${what}: ${[...new Set(err.fieldErrors.map((f) => f.message))].join("; ")}` });
        return err.fieldErrors;
      }
      if (err.status === 409) {
        toasts.show({ tone: "error", message: `${what}: ${err.message}` });
        return [{ field: "phone_number", message: err.message }];
      }
      apiError(err, what, err.retryable ? retry : undefined);
      return [{ field: "form", message: err.message }];
    },
    [apiError, toasts],
  );

  return { apiError, writeFailed };
}

export type ApiErrorReporter = ReturnType<typeof useApiErrors>["apiError"];
