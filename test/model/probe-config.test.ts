import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import fc from "fast-check";
import { loadConfig } from "../../src/model/load-config.ts";
import { DIAL_ADDRESS_PATTERN, parseDialAddress, parseProbeHostRule } from "../../src/model/probe-addresses.ts";
import { SCHEMA_FILES } from "../../src/model/schema-url.ts";
import { packageRoot } from "../../src/package-info.ts";
import { configProbeRules, dialTarget, formatAddress, parseProbeAddresses } from "../../src/rollout/probe-address.ts";
import { parseYamlDocument } from "../../src/yaml/load.ts";
import { ONE_CLUSTER_CONFIG, TWO_CLUSTER_CONFIG, formatted, makeRepo } from "./repo-fixture.ts";

/** wildseal.yaml's `spec.probe.addresses` and `spec.clusters[].probe.address` (docs/configuration.md#rollout-probes). */

const WITH_PROBES = `${TWO_CLUSTER_CONFIG}      probe: {address: "ingress-nginx-controller.ingress-nginx.svc"}
  probe:
    addresses:
      - "*.example.com=10.0.0.1:8443"
      - "Shop.Example.com.=[fd00::7]"
`;

async function problems(config: string): Promise<string[]> {
  const r = await loadConfig(makeRepo({ "wildseal.yaml": config }));
  assert.equal(r.config, undefined, "an invalid config must not be returned");
  return formatted(r.diagnostics);
}

describe("wildseal.yaml probe addresses", () => {
  it("loads spec.probe.addresses and a cluster's probe.address with the flag's syntax (normalised HOST, port 443 by default)", async () => {
    const r = await loadConfig(makeRepo({ "wildseal.yaml": WITH_PROBES }));
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config?.probe, {
      addresses: [
        { pattern: "*.example.com", address: { host: "10.0.0.1", port: 8443 } },
        { pattern: "shop.example.com", address: { host: "fd00::7", port: 443 } },
      ],
    });
    assert.deepEqual(
      r.config?.clusters.map((c) => [c.name, c.probe ?? null]),
      [
        ["prod-east", null],
        ["prod-west", { address: { host: "ingress-nginx-controller.ingress-nginx.svc", port: 443 } }],
      ],
    );
  });

  it("leaves the config as before when there is no probe block", async () => {
    const r = await loadConfig(makeRepo({ "wildseal.yaml": ONE_CLUSTER_CONFIG }));
    assert.equal(r.config !== undefined && "probe" in r.config, false);
    assert.equal(r.config?.clusters.some((c) => "probe" in c), false);
  });

  it("refuses malformed entries at their path:line:col, saying what is wrong and what to write", async () => {
    const config = `${TWO_CLUSTER_CONFIG}      probe: {address: "::1:443"}
  probe:
    addresses:
      - "acme.example.com"
      - "acme.example.com=10.0.0.7:0"
      - "*.*.example.com=10.0.0.7"
      - "a.example.com=[10.0.0.7]:443"
      - 443
`;
    assert.deepEqual(await problems(config), [
      'wildseal.yaml:11:24: spec.clusters[].probe.address "::1:443": an IPv6 address must be written in brackets, [::1]:443; write ADDRESS[:PORT], e.g. ingress-nginx-controller.ingress-nginx.svc:443, 10.0.0.7 (port 443) or [fd00::7]:8443',
      `wildseal.yaml:14:9: spec.probe.addresses[] "acme.example.com": expected HOST=ADDRESS:PORT; write HOST=ADDRESS[:PORT], e.g. '*.example.com=10.0.0.7:443' or 'acme.example.com=[fd00::7]:8443'`,
      `wildseal.yaml:15:9: spec.probe.addresses[] "acme.example.com=10.0.0.7:0": port "0" is not a number from 1 to 65535; write HOST=ADDRESS[:PORT], e.g. '*.example.com=10.0.0.7:443' or 'acme.example.com=[fd00::7]:8443'`,
      `wildseal.yaml:16:9: spec.probe.addresses[] "*.*.example.com=10.0.0.7": "*.*.example.com" is not a host name or *.domain; write HOST=ADDRESS[:PORT], e.g. '*.example.com=10.0.0.7:443' or 'acme.example.com=[fd00::7]:8443'`,
      `wildseal.yaml:17:9: spec.probe.addresses[] "a.example.com=[10.0.0.7]:443": "10.0.0.7" in brackets is not an IPv6 address; write HOST=ADDRESS[:PORT], e.g. '*.example.com=10.0.0.7:443' or 'acme.example.com=[fd00::7]:8443'`,
      "wildseal.yaml:18:9: spec.probe.addresses[4] must be a string, not number 443",
    ]);
  });

  it("refuses the same HOST twice (after normalising it), as --probe-address does, at the second entry", async () => {
    const config = `${ONE_CLUSTER_CONFIG}  probe:
    addresses:
      - "*.example.com=10.0.0.1"
      - "acme.example.com=10.0.0.2"
      - "*.Example.com.=10.0.0.3"
`;
    assert.deepEqual(await problems(config), [
      "wildseal.yaml:13:9: *.example.com is given twice (also spec.probe.addresses[0]): keep one address per host or *.domain",
    ]);
  });

  it("refuses unknown fields in the probe blocks", async () => {
    const config = `${ONE_CLUSTER_CONFIG}      probe: {adress: 10.0.0.7}
  probe: {address: 10.0.0.7}
`;
    assert.deepEqual(await problems(config), [
      "wildseal.yaml:9:14: spec.clusters[0].probe.address is required: add it",
      "wildseal.yaml:9:15: unknown field spec.clusters[0].probe.adress: remove it or fix its spelling",
      "wildseal.yaml:10:11: unknown field spec.probe.address: remove it or fix its spelling",
    ]);
  });
});

describe("probe precedence: --probe-address, then spec.probe.addresses, then the cluster's probe.address, then DNS", () => {
  it("picks per host the first kind of rule that matches, and within a kind the most specific", async () => {
    const config = `${TWO_CLUSTER_CONFIG}      probe: {address: "10.9.9.9:9443"}
  probe:
    addresses:
      - "*.example.com=10.0.0.1"
      - "shop.example.com=10.0.0.2"
      - "*.eu.example.com=10.0.0.3"
`;
    const loaded = await loadConfig(makeRepo({ "wildseal.yaml": config }));
    assert.ok(loaded.config !== undefined, JSON.stringify(loaded.diagnostics));
    const rules = [...parseProbeAddresses(["*.eu.example.com=192.0.2.1"]), ...configProbeRules(loaded.config)];
    const via = (host: string, cluster?: string): string => formatAddress(dialTarget(host, rules, cluster).address);
    assert.equal(via("shop.example.com", "prod-west"), "10.0.0.2:443", "an exact file rule wins over the file's *.domain and the cluster");
    assert.equal(via("acme.example.com", "prod-west"), "10.0.0.1:443", "a file *.domain wins over the cluster's address");
    assert.equal(via("web.eu.example.com", "prod-west"), "192.0.2.1:443", "a flag wins over the file's rule for the same domain");
    assert.equal(via("acme.example.org", "prod-west"), "10.9.9.9:9443", "no host rule: the tenant's cluster's address");
    assert.equal(via("acme.example.org", "prod-east"), "acme.example.org:443", "a cluster without probe.address: the host's own DNS");
    assert.equal(via("acme.example.org"), "acme.example.org:443", "no cluster given: cluster rules match nothing");
    assert.equal(dialTarget("Acme.Example.ORG.", rules, "prod-west").servername, "acme.example.org", "SNI is still the host");
  });

  it("a flag for a host wins over a more specific rule of the file", () => {
    const rules = [
      ...parseProbeAddresses(["*.example.com=192.0.2.1"]),
      { pattern: "acme.example.com", address: { host: "10.0.0.2", port: 443 }, from: "config" as const },
    ];
    assert.equal(formatAddress(dialTarget("acme.example.com", rules).address), "192.0.2.1:443");
  });
});

describe("the JSON Schema patterns of spec.probe.addresses[] and spec.clusters[].probe.address", () => {
  const schema = JSON.parse(readFileSync(join(packageRoot(), SCHEMA_FILES.config), "utf8")) as {
    properties: { spec: { properties: { probe: { properties: { addresses: { items: { pattern: string } } } } } } };
  };
  const pattern = new RegExp(schema.properties.spec.properties.probe.properties.addresses.items.pattern, "u");
  const addressPattern = new RegExp(DIAL_ADDRESS_PATTERN, "u");
  const validate = new Ajv({ strictSchema: true, strictTypes: true, allErrors: true }).compile(
    JSON.parse(readFileSync(join(packageRoot(), SCHEMA_FILES.config), "utf8")) as object,
  );

  it("accepts exactly what the loader accepts, brackets aside (an IPv6 address is checked by the loader only)", () => {
    const part = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."az09-.:*= ".split("")), maxLength: 24 }),
      fc.constantFrom("*.example.com", "acme.example.com.", "10.0.0.7", "a".repeat(63), `${"a".repeat(63)}.`.repeat(4), "", "svc:443", "x:0", "x:65535", "x:65536", "x:00443", "x:"),
    );
    let accepted = 0;
    fc.assert(
      fc.property(part, part, fc.boolean(), (host, address, eq) => {
        const text = eq ? `${host}=${address}` : host + address;
        const loader = parseProbeHostRule(text).ok;
        if (loader) accepted++;
        assert.equal(pattern.test(text), loader, `${JSON.stringify(text)}: loader ${loader ? "accepts" : "refuses"}, the pattern does not agree`);
        const alone = parseDialAddress(address).ok;
        assert.equal(addressPattern.test(address), alone, `probe.address ${JSON.stringify(address)}: loader ${alone ? "accepts" : "refuses"}, the pattern does not agree`);
      }),
      { numRuns: 2000 },
    );
    assert.ok(accepted > 0, "some candidates are valid");
  });

  it("lets an editor flag what the loader refuses, in a whole wildseal.yaml", () => {
    const doc = (entries: string): unknown => parseYamlDocument(`${ONE_CLUSTER_CONFIG}      probe: {address: "10.0.0.9:8443"}\n  probe:\n    addresses: ${entries}\n`, "w.yaml").value;
    assert.equal(validate(doc(`["*.example.com=[fd00::7]:443", "acme.example.com=ingress.svc"]`)), true, JSON.stringify(validate.errors));
    assert.equal(validate(doc(`["acme.example.com"]`)), false);
    assert.equal(validate(doc(`["a.example.com=1.2.3.4", "a.example.com=1.2.3.4"]`)), false, "uniqueItems");
  });
});
