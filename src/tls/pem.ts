/**
 * PEM text as blocks: certificates, chains and keys all arrive this way (tls.crt, ca.crt, cert.pem,
 * the controller's private keys), so reading it sits at the bottom, below sealing and TLS checks alike.
 */

export interface PemBlock {
  readonly label: string;
  readonly body: string;
  /** 1-based line where `-----BEGIN` stands */
  readonly line: number;
}

/** Every `-----BEGIN X----- … -----END X-----` block, in order. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    out.push({ label: m[1] ?? "", body: m[2] ?? "", line: text.slice(0, m.index).split("\n").length });
  }
  return out;
}

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n");
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}
