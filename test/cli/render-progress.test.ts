import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeLeaf, makeRepo, tempDir } from "../render/render-fixture.ts";
import { writeSourceSecret } from "../helpers/source-secret.ts";
import { runCli } from "./run-cli.ts";

/**
 * `render --quiet` and the progress lines of a large render, through the real command: stderr is not a
 * terminal here (runCli), so progress comes as plain lines; --quiet silences them; stdout (the result)
 * is the same either way.
 */

const TENANTS = 1_000;

describe("render progress", () => {
  test("a render of 1,000 tenants prints progress lines on stderr, and --quiet prints none", async () => {
    const tenants = Array.from({ length: TENANTS }, (_, i) => ({ name: `t${String(i).padStart(4, "0")}`, hosts: [`t${i}.example.com`] }));
    const dir = await makeRepo({ clusters: ["prod"], tenants });
    const { generated } = await makeLeaf();
    const src = writeSourceSecret(tempDir(), generated.certPem, generated.keyPem.reveal());

    const loud = await runCli(["render", "--repo", dir, "--source-file", src]);
    assert.equal(loud.code, 0, loud.stderr);
    const lines = loud.stderr.trimEnd().split("\n");
    assert.ok(lines.every((l) => /^wildseal: (reading committed tenants|sealing|writing) [\d,]+\/[\d,]+ tenants \(\d+%\)$/.test(l)), loud.stderr);
    assert.ok(lines.includes(`wildseal: sealing 1,000/1,000 tenants (100%)`), loud.stderr);
    assert.ok(lines.includes(`wildseal: writing 1,000/1,000 tenants (100%)`), loud.stderr);
    assert.ok(!loud.stderr.includes("\r"), "no bar when stderr is not a terminal");

    // the same cold render in a fresh repository, quiet
    const dir2 = await makeRepo({ clusters: ["prod"], tenants });
    const quiet = await runCli(["render", "--repo", dir2, "--source-file", src, "--quiet"]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.stdout.split("\n").length, loud.stdout.split("\n").length, "the result on stdout does not depend on --quiet");
  });
});

test("render --source-file - reads the Secret from the command's stdin (the key never touches disk)", async () => {
  const dir = await makeRepo({ clusters: ["prod"], tenants: [{ name: "acme" }] });
  const { generated } = await makeLeaf();
  const b64 = (b: string | Buffer): string => Buffer.from(b).toString("base64");
  const manifest = `apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata: {name: wildcard, namespace: cert-manager}\ndata:\n  tls.crt: ${b64(generated.certPem)}\n  tls.key: ${b64(generated.keyPem.reveal())}\n`;
  const r = await runCli(["render", "--repo", dir, "--source-file", "-"], { stdin: manifest });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^add {4}prod\/acme\n/);
});
