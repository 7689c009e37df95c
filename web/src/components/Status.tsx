import type { ApiError } from "../api";

/** Loading and error states of a block that reads the API. */
export function Status({ loading, error }: { loading: boolean; error: ApiError | null }) {
  if (error)
    return (
      <p role="alert" className="error">
        {error.message}
      </p>
    );
  return loading ? <p className="loading">Loading…</p> : null;
}

/** An action's failure, as the API explained it (nothing when there is none). */
export function Alert({ message }: { message: string | null }) {
  return message ? (
    <p role="alert" className="error">
      {message}
    </p>
  ) : null;
}
