/**
 * A cluster's Sealed Secrets certificate, fetched the way kubeseal does it: read the controller's
 * Service to learn the name of its first port, then GET `/v1/cert.pem` through the API server's
 * service proxy. Only the Kubernetes API is contacted (never the controller directly), so the same
 * credentials and RBAC as kubeseal apply: get `services` and get `services/proxy`.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { DependencyError } from "../errors.ts";
import { BodyTooLargeError, kubeRequest, type KubeResponse } from "./http.ts";

export interface ControllerRef {
  readonly namespace: string;
  readonly name: string;
}

export interface FetchControllerCertOptions {
  /** deadline per request; default 15 s */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** attempts per request on network errors and 5xx; default 2 */
  readonly attempts?: number;
  /** pause between attempts; default 500 ms */
  readonly retryDelayMs?: number;
}

/** A controller's cert.pem is under 2 KiB; anything near this is not a certificate. */
export const MAX_CONTROLLER_CERT_BYTES = 64 * 1024;
const MAX_SERVICE_BYTES = 256 * 1024;
/** kubeseal's Accept header for the proxied cert.pem */
export const CERT_ACCEPT = "application/x-pem-file, */*";

/** IANA_SVC_NAME, as the API server validates Service port names (empty: an unnamed port). */
const PORT_NAME = /^(?:[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?)?$/;

export function servicePath(ref: ControllerRef): string {
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/services/${encodeURIComponent(ref.name)}`;
}

/** `services/http:{name}:{port}/proxy/v1/cert.pem`, as client-go's ProxyGet("http", name, port, …) builds it. */
export function certProxyPath(ref: ControllerRef, portName: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/services/http:${encodeURIComponent(ref.name)}:${portName}/proxy/v1/cert.pem`;
}

/** `spec.ports[0].name` of a Service object; "" when unnamed (kubeseal then asks for `http:{name}:`). */
export function firstPortName(service: unknown, ref: ControllerRef): string {
  const ports = (service as { spec?: { ports?: unknown } } | undefined)?.spec?.ports;
  if (!Array.isArray(ports) || ports.length === 0) {
    throw new DependencyError(`service ${ref.namespace}/${ref.name} has no ports: it is not a Sealed Secrets controller Service`);
  }
  const name = (ports[0] as { name?: unknown } | null)?.name;
  if (name === undefined || name === null) return "";
  if (typeof name !== "string" || !PORT_NAME.test(name)) {
    throw new DependencyError(`service ${ref.namespace}/${ref.name}: its first port has an invalid name`);
  }
  return name;
}

function helmHint(ref: ControllerRef): string {
  return (
    `Helm installs name the Service after the release (release "sealed-secrets" gives "sealed-secrets", not "sealed-secrets-controller"): ` +
    `set controller: {namespace, name} in wildseal.yaml to the Service's real name, or install with --set-string fullnameOverride=sealed-secrets-controller ` +
    `(check with: kubectl get services -n ${ref.namespace} -l app.kubernetes.io/name=sealed-secrets)`
  );
}

function rbacHint(ref: ControllerRef): string {
  return `wildseal's identity needs get on services and services/proxy for ${ref.namespace}/${ref.name}, as kubeseal does`;
}

/** The Status message of an API error reply, shortened (it is the API server's, never secret, but unbounded). */
function statusMessage(res: KubeResponse): string {
  let body: unknown = res.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      return "";
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  if (typeof message !== "string" || message === "") return "";
  const clean = message.replace(/[^\x20-\x7e]/g, "?");
  return `: ${clean.length > 200 ? `${clean.slice(0, 200)}…` : clean}`;
}

function failure(what: string, ref: ControllerRef, res: KubeResponse): DependencyError {
  const base = `${what}: HTTP ${res.status}${statusMessage(res)}`;
  switch (res.status) {
    case 401:
      return new DependencyError(`${base}; the Kubernetes credentials were refused`);
    case 403:
      return new DependencyError(`${base}; ${rbacHint(ref)}`);
    case 404:
      return new DependencyError(`${base}; no Service ${ref.namespace}/${ref.name} answers. ${helmHint(ref)}`);
    case 502:
    case 503:
      return new DependencyError(`${base}; the Service has no ready controller behind it (is the sealed-secrets controller Pod running?)`);
    default:
      return new DependencyError(base);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** One request with a bounded retry on network errors and 5xx; other replies are returned as they are. */
async function requestWithRetry(
  kc: KubeConfig,
  path: string,
  what: string,
  opts: FetchControllerCertOptions,
  mode: { accept: string; maxBodyBytes: number },
): Promise<KubeResponse> {
  const attempts = Math.max(1, opts.attempts ?? 2);
  let last: KubeResponse | undefined;
  let lastError = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(opts.retryDelayMs ?? 500, opts.signal);
    opts.signal?.throwIfAborted();
    try {
      last = await kubeRequest(kc, path, {
        timeoutMs: opts.timeoutMs ?? 15_000,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        responseType: "text",
        ...mode,
      });
    } catch (e) {
      opts.signal?.throwIfAborted();
      if (e instanceof BodyTooLargeError) throw new DependencyError(`${what}: the answer is larger than ${mode.maxBodyBytes} bytes`);
      const err = e as Error & { code?: string };
      lastError = err.name === "TimeoutError" || err.name === "AbortError" ? "timed out" : `connection failed (${err.code ?? err.message})`;
      last = undefined;
      continue;
    }
    if (last.status < 500) return last;
  }
  if (last !== undefined) return last;
  throw new DependencyError(`${what}: ${lastError} after ${attempts} attempt(s); check the kubeconfig's server and that the API server is reachable`);
}

/**
 * The PEM text the controller serves at `/v1/cert.pem`, not parsed (parseSealingCertificate does
 * that, so that a bad certificate is reported as invalid input, not as a failed dependency).
 */
export async function fetchControllerCertificate(kc: KubeConfig, ref: ControllerRef, opts: FetchControllerCertOptions = {}): Promise<string> {
  const svcWhat = `reading service ${ref.namespace}/${ref.name} (the Sealed Secrets controller)`;
  const svc = await requestWithRetry(kc, servicePath(ref), svcWhat, opts, {
    accept: "application/json",
    maxBodyBytes: MAX_SERVICE_BYTES,
  });
  if (svc.status !== 200) throw failure(svcWhat, ref, svc);
  let service: unknown;
  try {
    service = JSON.parse(String(svc.body ?? ""));
  } catch {
    throw new DependencyError(`${svcWhat}: the answer is not JSON; is the kubeconfig's server a Kubernetes API server?`);
  }
  const port = firstPortName(service, ref);

  const certWhat = `fetching the sealing certificate through service ${ref.namespace}/${ref.name} port "${port}" (/v1/cert.pem)`;
  const cert = await requestWithRetry(kc, certProxyPath(ref, port), certWhat, opts, {
    accept: CERT_ACCEPT,
    maxBodyBytes: MAX_CONTROLLER_CERT_BYTES,
  });
  if (cert.status !== 200) throw failure(certWhat, ref, cert);
  return String(cert.body ?? "");
}
