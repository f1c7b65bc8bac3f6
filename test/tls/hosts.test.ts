import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { hostCoveredBy, isValidHostname } from "../../src/tls/hosts.ts";

/** Independent reference: split into labels, compare label by label, `*` matches one whole label. */
function referenceCovered(host: string, sans: readonly string[]): boolean {
  const labels = (n: string): string[] => n.replace(/\.$/, "").toLowerCase().split(".");
  const h = labels(host);
  return sans.some((san) => {
    const s = labels(san);
    if (s.length !== h.length) return false;
    return s.every((label, i) => label === h[i] || (i === 0 && label === "*" && s.length > 1));
  });
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const randomCase = (s: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) =>
    [...s].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(""),
  );
const hostLabels = fc.array(fc.constantFrom("a", "b", "example", "com", "xn--bcher-kva"), { minLength: 1, maxLength: 4 });

describe("hostCoveredBy", () => {
  it("pins the wildcard rules", () => {
    const sans = ["*.example.com"];
    assert.equal(hostCoveredBy("a.example.com", sans), true);
    assert.equal(hostCoveredBy("A.Example.COM.", sans), true);
    assert.equal(hostCoveredBy("a.b.example.com", sans), false);
    assert.equal(hostCoveredBy("example.com", sans), false);
    assert.equal(hostCoveredBy("example.com", ["*.example.com", "example.com"]), true);
    assert.equal(hostCoveredBy("a.example.org", sans), false);
    assert.equal(hostCoveredBy("b\u00fccher.example.com", sans), false);
    assert.equal(hostCoveredBy("xn--bcher-kva.example.com", sans), true);
    assert.equal(hostCoveredBy("a.example.com", ["a*.example.com"]), false);
    assert.equal(hostCoveredBy("*.example.com", sans), false);
  });

  it("agrees with a label-by-label reference, whatever the case and trailing dots", () => {
    const names = hostLabels.chain((ls) =>
      fc.record({
        name: fc.constant(ls.join(".")),
        dot: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(
        names,
        fc.array(fc.tuple(names, fc.boolean()), { maxLength: 4 }),
        fc.boolean(),
        ({ name, dot }, sanSpecs, upper) => {
          const sans = sanSpecs.map(([s, wild]) => {
            const parts = s.name.split(".");
            if (wild) parts[0] = "*";
            return parts.join(".") + (s.dot ? "." : "");
          });
          const host = (upper ? name.toUpperCase() : name) + (dot ? "." : "");
          assert.equal(hostCoveredBy(host, sans), referenceCovered(host, sans), `${host} vs ${sans.join(",")}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("covers any one-label subdomain of a wildcard, in any case", () => {
    fc.assert(
      fc.property(label.chain(randomCase), fc.array(label, { minLength: 1, maxLength: 3 }), (first, base) => {
        const domain = base.join(".");
        assert.equal(hostCoveredBy(`${first}.${domain}`, [`*.${domain}`]), true);
        assert.equal(hostCoveredBy(`x.${first}.${domain}`, [`*.${domain}`]), false);
        assert.equal(hostCoveredBy(domain, [`*.${domain}`]), false);
      }),
    );
  });
});

describe("isValidHostname", () => {
  it("accepts RFC 1123 names and punycode", () => {
    for (const h of ["a", "acme.example.com", "Acme.Example.com.", "1.example.com", "xn--bcher-kva.example", `${"a".repeat(63)}.com`]) {
      assert.equal(isValidHostname(h), true, h);
    }
  });
  it("refuses wildcards, non-ASCII, bad labels and over-long names", () => {
    const long = Array(64).fill("abc").join("."); // 255 characters
    for (const h of ["", ".", "*.example.com", "b\u00fccher.example", "-a.example", "a-.example", "a..b", `${"a".repeat(64)}.com`, long, "a_b.example", "a b"]) {
      assert.equal(isValidHostname(h), false, h);
    }
  });
});
