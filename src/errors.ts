/**
 * The one error type of Qualify. Every failure a user can cause has a code in this catalogue;
 * the HTTP edge maps `status`, the CLI prints `message` and exits non-zero.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { status: 500, summary: "An environment variable has a bad value." },
  DATABASE_LOCKED: { status: 503, summary: "Another process holds the embedded database." },
  MODEL_INVALID: { status: 422, summary: "The scoring model does not validate." },
  SEQUENCE_INVALID: { status: 422, summary: "A nurture sequence does not validate." },
  TEMPLATE_INVALID: { status: 422, summary: "An email template does not validate (syntax or variables)." },
  AUDIENCE_INVALID: { status: 422, summary: "A saved audience does not validate." },
  SETTINGS_INVALID: { status: 422, summary: "The nurture settings do not validate." },
  ROUTING_INVALID: { status: 422, summary: "The routing document (teams, rules, SLAs) does not validate." },
  ANALYTICS_CONFIG_INVALID: {
    status: 422,
    summary: "The analytics configuration (session gap, channel rules, touchpoint types) does not validate.",
  },
  INPUT_INVALID: { status: 400, summary: "An input (event, fact or file line) is malformed." },
  NOT_ENOUGH_DATA: { status: 422, summary: "Too few labelled leads to fit or evaluate a model." },
  FILE_UNREADABLE: { status: 400, summary: "A file could not be read." },
  MODEL_MISMATCH: { status: 409, summary: "A lead state was built by another model version." },
  NOT_FOUND: { status: 404, summary: "The thing asked for does not exist." },
  UNAUTHORIZED: { status: 401, summary: "The request carries no valid write key or API token." },
  FORBIDDEN: { status: 403, summary: "The token's role may not do this." },
  RATE_LIMITED: { status: 429, summary: "Too many attempts (logins); wait before trying again." },
  PAYLOAD_TOO_LARGE: { status: 413, summary: "A body, batch or event is over its size limit." },
  BODY_UNPARSEABLE: { status: 400, summary: "The request body is not valid JSON (or not valid gzip)." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: "The body's content type or encoding is not accepted." },
  CONFLICT: { status: 409, summary: "The request conflicts with what is stored." },
  ERASED: { status: 410, summary: "The lead was erased; it cannot be recreated." },
  NOT_READY: { status: 503, summary: "The service is starting or its database is unreachable." },
  DATABASE_TIMEOUT: {
    status: 503,
    summary: "A database statement, or the wait for a free pooled connection, ran over its limit.",
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorDetail {
  /** Where: a field path such as `rules[3].decay.halfLife`, or `file:line`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

export class QualifyError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: ErrorDetail[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = "QualifyError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** The message followed by one line per detail, as the CLI prints it. */
  describe(): string {
    const lines = this.details.map((d) => {
      const where = d.line === undefined ? "" : `line ${d.line}: `;
      return `  ${where}${d.path ? `${d.path}: ` : ""}${d.message}`;
    });
    return [this.message, ...lines].join("\n");
  }
}
