import { createPrivateKey, type KeyObject } from "node:crypto";
import { InvalidInputError } from "../errors.ts";
import { parseSecretManifests } from "../tls/secret-input.ts";
import { pemBlocks } from "../tls/pem.ts";

/**
 * Private keys for `wildseal unseal`, in the forms `kubeseal --recovery-private-key` takes: PEM
 * (PKCS#1 `RSA PRIVATE KEY` as the controller stores it, or PKCS#8; several per file), or a backup of
 * the controller's key Secrets (`kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key
 * -o yaml`: a Secret or a v1 List whose items hold `tls.key`). Errors never carry key bytes.
 */

const MAX_KEY_FILE_BYTES = 1024 * 1024;
const KEY_LABELS = new Set(["RSA PRIVATE KEY", "PRIVATE KEY"]);

function keysFromPem(text: string, source: string): KeyObject[] {
  const keys: KeyObject[] = [];
  for (const b of pemBlocks(text)) {
    if (b.label === "ENCRYPTED PRIVATE KEY") {
      throw new InvalidInputError(`${source}:${b.line}:1: the private key is encrypted; decrypt it first (openssl pkey -in FILE)`);
    }
    if (!KEY_LABELS.has(b.label)) continue; // certificates next to the key are fine
    let key: KeyObject;
    try {
      const der = Buffer.from(b.body.replace(/\s+/g, ""), "base64");
      key = createPrivateKey({ key: der, format: "der", type: b.label === "RSA PRIVATE KEY" ? "pkcs1" : "pkcs8" });
    } catch {
      throw new InvalidInputError(`${source}:${b.line}:1: the ${b.label} block does not parse as a private key`);
    }
    if (key.asymmetricKeyType !== "rsa") {
      throw new InvalidInputError(`${source}:${b.line}:1: a ${key.asymmetricKeyType ?? "non-RSA"} key cannot open Sealed Secrets; they use RSA`);
    }
    keys.push(key);
  }
  return keys;
}

export function loadPrivateKeys(text: string | Buffer, source: string): KeyObject[] {
  if (text.length > MAX_KEY_FILE_BYTES) {
    throw new InvalidInputError(`${source}: larger than ${MAX_KEY_FILE_BYTES} bytes; pass a PEM private key or a key Secret backup`);
  }
  const s = typeof text === "string" ? text : text.toString("utf8");
  const looksLikeManifest = /^\s*(apiVersion|kind)\s*:|^\s*\{/m.test(s);
  let keys: KeyObject[] = [];
  if (!looksLikeManifest) {
    keys = keysFromPem(s, source);
  } else {
    keys = [];
    for (const secret of parseSecretManifests(s, source)) {
      const key = secret.data.get("tls.key");
      if (key !== undefined) keys.push(...keysFromPem(key.reveal().toString("utf8"), `${source} (Secret ${secret.name}, tls.key)`));
    }
  }
  if (keys.length === 0) {
    throw new InvalidInputError(
      `${source}: no RSA private key found; pass a PEM private key (PKCS#1 or PKCS#8) or a backup of the controller's key Secrets holding tls.key`,
    );
  }
  return keys;
}
