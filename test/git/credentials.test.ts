import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { UsageError } from "../../src/errors.ts";
import { authConfig, credentialsFromEnv, scrubSecrets } from "../../src/git/credentials.ts";
import { classifyRemote } from "../../src/git/remote-url.ts";

const TOKEN = "ghs_Testtoken0123456789";

function reveal(c: ReturnType<typeof credentialsFromEnv>): string | undefined {
  return c.kind === "token" ? c.token.reveal().toString("utf8") : undefined;
}

describe("credentials from the environment", () => {
  it("reads WILDSEAL_GIT_TOKEN, then a token file, then GITHUB_TOKEN", () => {
    assert.equal(reveal(credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN, GITHUB_TOKEN: "other" })), TOKEN);
    const fromFile = credentialsFromEnv({ WILDSEAL_GIT_TOKEN_FILE: "/run/secrets/t" }, (p) => {
      assert.equal(p, "/run/secrets/t");
      return Buffer.from(`${TOKEN}\n`);
    });
    assert.equal(reveal(fromFile), TOKEN);
    assert.equal(reveal(credentialsFromEnv({ GITHUB_TOKEN: TOKEN })), TOKEN);
    assert.deepEqual(credentialsFromEnv({}), { kind: "none" });
  });

  it("takes the Basic-auth user name from WILDSEAL_GIT_USERNAME", () => {
    const c = credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN, WILDSEAL_GIT_USERNAME: "oauth2" });
    assert.equal(c.kind === "token" ? c.username : undefined, "oauth2");
  });

  it("refuses ambiguous, empty, unreadable or multi-line tokens, without echoing them", () => {
    assert.throws(() => credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN, WILDSEAL_GIT_TOKEN_FILE: "/x" }), UsageError);
    assert.throws(() => credentialsFromEnv({ WILDSEAL_GIT_TOKEN_FILE: "/x" }, () => Buffer.from("\n")), UsageError);
    assert.throws(
      () =>
        credentialsFromEnv({ WILDSEAL_GIT_TOKEN_FILE: "/nonexistent/token" }, () => {
          throw Object.assign(new Error("nope"), { code: "ENOENT" });
        }),
      /ENOENT/,
    );
    try {
      credentialsFromEnv({ WILDSEAL_GIT_TOKEN: `${TOKEN}\r\nX-Injected: 1` });
      assert.fail("accepted a token with a line break");
    } catch (e) {
      assert.ok(e instanceof UsageError);
      assert.equal(e.message.includes(TOKEN), false);
    }
  });

  it("never shows the token when logged or serialised", () => {
    const c = credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN });
    assert.equal(inspect(c).includes(TOKEN), false);
    assert.equal(JSON.stringify(c).includes(TOKEN), false);
    assert.equal(String(c.kind === "token" ? c.token : ""), "[redacted]");
  });
});

describe("per-command auth config", () => {
  const creds = credentialsFromEnv({ WILDSEAL_GIT_TOKEN: TOKEN });

  it("is a Basic header scoped to the remote's origin, and resets credential helpers", () => {
    const cfg = authConfig(creds, classifyRemote("https://git.example.com:8443/o/r.git"));
    const b64 = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");
    assert.deepEqual(cfg, [
      { key: "http.https://git.example.com:8443/.extraHeader", value: `Authorization: Basic ${b64}` },
      { key: "credential.helper", value: "" },
    ]);
  });

  it("is empty for ssh, file and path remotes and without a token", () => {
    assert.deepEqual(authConfig(creds, classifyRemote("git@github.com:o/r.git")), []);
    assert.deepEqual(authConfig(creds, classifyRemote("file:///srv/r.git")), []);
    assert.deepEqual(authConfig(creds, classifyRemote("/srv/r.git")), []);
    assert.deepEqual(authConfig({ kind: "none" }, classifyRemote("https://github.com/o/r.git")), []);
  });

  it("refuses to send a token over plain http except to loopback", () => {
    assert.throws(() => authConfig(creds, classifyRemote("http://git.example.com/r.git")), UsageError);
    assert.equal(authConfig(creds, classifyRemote("http://127.0.0.1:9/r.git")).length, 2);
  });

  it("scrubs the token, its Basic form and URL userinfo from error text", () => {
    const b64 = Buffer.from(`x-access-token:${TOKEN}`).toString("base64");
    const text = `fatal: header Authorization: Basic ${b64}; url https://u:${TOKEN}@h/r; raw ${TOKEN}`;
    const out = scrubSecrets(text, creds);
    assert.equal(out.includes(TOKEN), false);
    assert.equal(out.includes(b64), false);
  });
});
