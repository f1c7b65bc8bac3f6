/**
 * Types shared by everything that handles a Secret or a TLS certificate. Values are raw bytes
 * (never base64 text); key material is wrapped so that it cannot be logged or serialised by accident.
 */

/** Bytes of a secret value. `toJSON`/`inspect`/`toString` are redacted; `reveal()` is the only way out. */
export class SecretBytes {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  reveal(): Buffer {
    return this.#bytes;
  }
  get length(): number {
    return this.#bytes.length;
  }
  equals(other: SecretBytes): boolean {
    return this.#bytes.equals(other.#bytes);
  }
  toJSON(): string {
    return "[redacted]";
  }
  toString(): string {
    return "[redacted]";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "SecretBytes([redacted])";
  }
}

/** A Kubernetes Secret as read from a manifest or a mounted volume: `data` and `stringData` merged. */
export interface SecretManifest {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly type: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /** Input annotations minus server-set/last-applied ones (what kubeseal copies into the template). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly immutable: boolean | undefined;
  /** Item key → raw bytes. Sorted by key when iterated by consumers that need determinism. */
  readonly data: ReadonlyMap<string, SecretBytes>;
}

/** Public facts of the leaf certificate: everything later stages show, compare or gate on. */
export interface CertFacts {
  /** hex SHA-256 of the leaf DER, lower case */
  readonly sha256: string;
  /** hex serial, upper case as X509Certificate prints it */
  readonly serial: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DNS SANs, lower-cased, in certificate order */
  readonly dnsNames: readonly string[];
}

/** A validated kubernetes.io/tls Secret: the chain parses, the key matches the leaf. */
export interface TlsMaterial {
  readonly secret: SecretManifest;
  readonly leaf: CertFacts;
  /** the PEM chain as given (`tls.crt`): public */
  readonly certChainPem: string;
  /**
   * The issuing CA as given (`ca.crt`, which cert-manager writes for private issuers): public, yet
   * sealed and delivered with the rest, since all items of a SealedSecret come from one Secret.
   * Absent when the Secret has no `ca.crt` or an empty one (ACME issuers leave it empty).
   */
  readonly ca?: string;
}
