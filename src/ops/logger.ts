/**
 * JSON logs (pino). Redaction is a second line of defence: secret material is wrapped in SecretBytes
 * and never handed to a logger on purpose, but any field that *looks* like a credential is censored too.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

export type { Logger } from "pino";

const SECRET_KEYS = [
  "token",
  "accessToken",
  "password",
  "secret",
  "webhookSecret",
  "privateKey",
  "key",
  "keyPem",
  "authorization",
  "Authorization",
  "cookie",
  "credentials",
  "gitConfig",
  "tls.key",
] as const;

/** Redaction paths: each secret-like key at the top level and up to two levels deep. */
export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => {
  const plain = /^[A-Za-z_$][\w$]*$/.test(k);
  const top = plain ? k : `["${k}"]`;
  const nested = plain ? `.${k}` : `["${k}"]`;
  return [top, `*${nested}`, `*.*${nested}`];
});

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** where JSON lines go; default stdout (fd 1) */
  readonly destination?: DestinationStream;
  readonly name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? "wildseal",
      level: options.level ?? "info",
      redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination(1),
  );
}
