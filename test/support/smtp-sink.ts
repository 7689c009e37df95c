import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A reply code refusing a message: permanently (550) or for now (451); undefined accepts it. */
export type ReplyCode = 550 | 451 | undefined;

/** A received email: its envelope, raw headers (unfolded) and the parsed message. */
export interface ReceivedMail {
  to: string[];
  headers: string;
  parsed: ParsedMail;
}

/**
 * A real SMTP server in the test process. It keeps every message it accepts, and can be told to
 * refuse recipients permanently (550) or for now (451), or (`onMessage`) to refuse a message after
 * its DATA or hold the reply back.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  /** Recipients refused at RCPT TO, with the reply code. */
  readonly refuse = new Map<string, 550 | 451>();
  /** Every message whose DATA came in, whatever the reply to it (or none yet). */
  readonly seen: ReceivedMail[] = [];
  /**
   * The reply to a message once its DATA is in: undefined accepts it (it is kept in `mails`), a
   * code refuses it; a promise holds the reply back until it settles (a slow or hung server).
   */
  onMessage: ((mail: ReceivedMail) => Promise<ReplyCode> | ReplyCode) | null = null;
  /** Errors of client connections (a reset by a killed client, say). */
  readonly errors: Error[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<SmtpSink> {
    let sink: SmtpSink | null = null;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      logger: false,
      onRcptTo(address, _session, callback) {
        const code = sink?.refuse.get(address.address.toLowerCase());
        if (!code) return callback();
        const e = new Error(code === 550 ? "5.1.1 mailbox unavailable" : "4.2.1 try again later") as Error & {
          responseCode: number;
        };
        e.responseCode = code;
        callback(e);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              const text = raw.toString("utf8");
              const mail: ReceivedMail = {
                to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
                headers: text.slice(0, text.search(/\r?\n\r?\n/)).replace(/\r?\n(?=[ \t])/g, ""),
                parsed,
              };
              sink?.seen.push(mail);
              return Promise.resolve(sink?.onMessage?.(mail)).then((code) => {
                if (!code) {
                  sink?.mails.push(mail);
                  return callback();
                }
                const e = new Error(
                  code === 550 ? "5.6.0 message refused" : "4.3.0 try again later",
                ) as Error & {
                  responseCode: number;
                };
                e.responseCode = code;
                callback(e);
              });
            },
            (e: Error) => callback(e),
          );
        });
      },
    });
    // A client that dies mid-session (a killed process) resets its connection: kept, not thrown.
    server.on("error", (e: Error) => sink?.errors.push(e));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    const address = server.server.address();
    sink = new SmtpSink(server, typeof address === "object" && address ? address.port : port);
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  to(address: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to.includes(address.toLowerCase()));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
