import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { UsageError } from "../../src/errors.ts";
import { classifyRemote, redactUrl, redactUrlsIn, splitUserinfo } from "../../src/git/remote-url.ts";

describe("remote URL redaction", () => {
  it("hides user and token of http(s) URLs, including GitHub's x-access-token form", () => {
    assert.equal(redactUrl("https://x-access-token:ghs_abc123@github.com/o/r.git"), "https://***@github.com/o/r.git");
    assert.equal(redactUrl("https://ghp_tokenonly@github.com/o/r"), "https://***@github.com/o/r");
    assert.equal(redactUrl("http://u:p%40ss@127.0.0.1:8080/r.git"), "http://***@127.0.0.1:8080/r.git");
  });

  it("keeps an ssh user name but not an ssh password", () => {
    assert.equal(redactUrl("ssh://git@example.com/o/r.git"), "ssh://git@example.com/o/r.git");
    assert.equal(redactUrl("ssh://git:pw@example.com/o/r.git"), "ssh://***@example.com/o/r.git");
  });

  it("masks secret-looking query parameters and leaves other text alone", () => {
    assert.equal(
      redactUrl("https://example.com/r.git?access_token=s3cret&ref=main#x"),
      "https://example.com/r.git?access_token=***&ref=main#x",
    );
    assert.equal(redactUrl("/srv/git/repo.git"), "/srv/git/repo.git");
    assert.equal(redactUrl("git@github.com:o/r.git"), "git@github.com:o/r.git");
  });

  it("redacts every URL inside an error text", () => {
    const text = "fatal: unable to access 'https://x-access-token:tok@github.com/o/r.git/': 403\nsee https://a:b@c.d/e";
    const out = redactUrlsIn(text);
    assert.equal(out.includes("tok"), false);
    assert.equal(out.includes(":b@"), false);
    assert.match(out, /https:\/\/\*\*\*@github\.com\/o\/r\.git\//);
  });
});

describe("remote classification", () => {
  it("accepts local paths, file://, https://, http://, ssh:// and scp-like remotes", () => {
    assert.deepEqual(classifyRemote("/srv/git/r.git"), { kind: "path", url: "/srv/git/r.git" });
    assert.deepEqual(classifyRemote("./r.git"), { kind: "path", url: resolve("r.git") });
    assert.deepEqual(classifyRemote("file:///srv/git/r.git"), { kind: "file", url: "file:///srv/git/r.git" });
    assert.equal(classifyRemote("https://github.com/o/r.git").kind, "https");
    assert.equal(classifyRemote("HTTP://127.0.0.1:1/r.git").kind, "http");
    assert.equal(classifyRemote("ssh://git@example.com:2222/o/r.git").kind, "ssh");
    assert.equal(classifyRemote("git@github.com:o/r.git").kind, "ssh");
  });

  it("rejects transport helpers, other schemes and option-looking values with a usage error", () => {
    for (const bad of [
      "ext::sh -c touch% /tmp/pwned",
      "fd::17",
      "EXT::sh",
      "git://example.com/r.git",
      "ftp://example.com/r.git",
      "-uecho",
      "--upload-pack=touch /tmp/x",
      "ssh://-oProxyCommand=touch%20x/r",
      "-oProxyCommand=x:r",
      "file://host/srv/r.git",
      "https:///nohost",
      "/srv/r.git\nfatal",
      "",
    ]) {
      assert.throws(() => classifyRemote(bad), UsageError, `accepted ${JSON.stringify(bad)}`);
    }
  });

  it("never echoes a token when rejecting", () => {
    try {
      classifyRemote("gopher://user:s3cret-token@example.com/r");
      assert.fail("accepted gopher://");
    } catch (e) {
      assert.ok(e instanceof UsageError);
      assert.equal(e.message.includes("s3cret-token"), false);
    }
  });

  it("splits userinfo off an https URL so it can travel as a header", () => {
    const out = splitUserinfo(classifyRemote("https://x-access-token:t%2Fk@github.com/o/r.git"));
    assert.deepEqual(out, {
      remote: { kind: "https", url: "https://github.com/o/r.git" },
      username: "x-access-token",
      password: "t/k",
    });
  });
});
