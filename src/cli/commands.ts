import type { Command } from "commander";
import { register as render } from "./render.ts";
import { register as seal } from "./seal.ts";
import { register as unseal } from "./unseal.ts";
import { register as validate } from "./validate.ts";
import { register as tenant } from "./tenant.ts";
import { register as sync } from "./sync.ts";
import { register as demo } from "./demo.ts";
import { register as audit } from "./audit.ts";
import { register as watch } from "./watch.ts";
import { register as init } from "./init.ts";
import { register as status } from "./status.ts";

/**
 * Every CLI command, one module each. A command module exports `register(program)`, which adds
 * the command and its options; the action imports the command's work (`<command>-action.ts`) with a
 * dynamic import() when it runs, and that calls into pipeline/ and throws errors from errors.ts.
 * Registering every command happens on each run (--help, --version and the docs test walk the whole
 * tree), so a command module imports commander and small helpers only: test/cli/lazy-loading.test.ts
 * pins that the Kubernetes client, Octokit and the renderer stay unloaded for --version and seal.
 */
export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [init, render, seal, unseal, validate, tenant, audit, status, sync, watch, demo];
