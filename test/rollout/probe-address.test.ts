import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { dialTarget, formatAddress, parseProbeAddress, parseProbeAddresses } from "../../src/rollout/probe-address.ts";

describe("--probe-address", () => {
  it("parses HOST=ADDR:PORT with IPv4, bracketed IPv6, a DNS name, and 443 when the port is left out", () => {
    assert.deepEqual(parseProbeAddress("acme.example.com=10.0.0.7:8443"), { pattern: "acme.example.com", address: { host: "10.0.0.7", port: 8443 } });
    assert.deepEqual(parseProbeAddress("*.Example.com.=[::1]:443"), { pattern: "*.example.com", address: { host: "::1", port: 443 } });
    assert.deepEqual(parseProbeAddress("*.example.com=ingress-nginx.ingress-nginx.svc"), {
      pattern: "*.example.com",
      address: { host: "ingress-nginx.ingress-nginx.svc", port: 443 },
    });
    assert.equal(formatAddress({ host: "::1", port: 443 }), "[::1]:443");
  });

  it("refuses malformed values as usage errors that say what is wrong", () => {
    const cases: Array<[string, RegExp]> = [
      ["acme.example.com", /expected HOST=ADDRESS:PORT/],
      ["acme.example.com=10.0.0.7:0", /port "0" is not a number from 1 to 65535/],
      ["acme.example.com=10.0.0.7:x", /port "x"/],
      ["acme.example.com=::1:443", /IPv6 address must be written in brackets/],
      ["acme.example.com=[10.0.0.7]:443", /not an IPv6 address/],
      ["*.*.example.com=10.0.0.7:443", /is not a host name or \*\.domain/],
      ["acme_1.example.com=10.0.0.7", /is not a host name/],
      ["acme.example.com=bad_host:443", /is neither an IP address nor a host name/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseProbeAddress(text), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.message.startsWith("--probe-address"), text);
    }
    assert.throws(() => parseProbeAddresses(["a.example.com=1.2.3.4", "A.example.com=1.2.3.5"]), /a\.example\.com is given more than once/);
  });

  it("dials an exact rule first, then the longest *.domain the host is under (any depth), else the host on 443", () => {
    const rules = parseProbeAddresses(["*.example.com=10.0.0.1:443", "*.eu.example.com=10.0.0.2:443", "shop.eu.example.com=10.0.0.3:8443"]);
    const via = (h: string) => {
      const t = dialTarget(h, rules);
      return [t.servername, formatAddress(t.address), t.rule ?? null];
    };
    assert.deepEqual(via("acme.example.com"), ["acme.example.com", "10.0.0.1:443", "*.example.com"]);
    assert.deepEqual(via("a.b.example.com"), ["a.b.example.com", "10.0.0.1:443", "*.example.com"]);
    assert.deepEqual(via("web.eu.example.com"), ["web.eu.example.com", "10.0.0.2:443", "*.eu.example.com"]);
    assert.deepEqual(via("Shop.EU.example.com."), ["shop.eu.example.com", "10.0.0.3:8443", "shop.eu.example.com"]);
    assert.deepEqual(via("example.com"), ["example.com", "example.com:443", null], "*.example.com is not example.com itself");
    assert.deepEqual(via("acme.example.org"), ["acme.example.org", "acme.example.org:443", null]);
  });
});
