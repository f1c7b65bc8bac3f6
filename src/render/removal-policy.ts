import type { Diagnostic } from "../errors.ts";

/**
 * When may a render delete a tenant's output? Pruning a folder makes Flux or Argo CD delete a live
 * Secret, so a removal must come from a tenant set wildseal can trust, and a sudden mass removal —
 * far more often a bad commit (a folder renamed, a glob gone wrong) than a decision — is held until a
 * person confirms it with `--allow-removals`.
 *
 * - held:    tenants/ had problems (a file misnamed, invalid, unreadable, or the folder itself): a
 *            missing tenant file may be a mistake, so nothing is removed in this run.
 * - limited: at most `max` tenant folders may be removed; more holds them all ("default": see
 *            defaultMaxRemovals).
 * - any:     `--allow-removals`.
 */
export type RemovalPolicy =
  | { readonly kind: "held" }
  | { readonly kind: "limited"; readonly max: number | "default" }
  | { readonly kind: "any" };

/** What a user can ask for (--max-removals, --allow-removals); "held" is decided by the tenant set. */
export type RemovalLimit = Exclude<RemovalPolicy, { kind: "held" }>;

/** Without a flag: the limit of defaultMaxRemovals. */
export const DEFAULT_REMOVAL_LIMIT: RemovalLimit = { kind: "limited", max: "default" };

/** A tenant folder the plan would delete. */
export interface Removal {
  readonly cluster: string;
  readonly tenant: string;
}

export type RemovalDecision =
  | { readonly kind: "remove" }
  | { readonly kind: "hold"; readonly diagnostic: Diagnostic };

/** The default limit: 2, or 10% of the tenant folders committed now, whichever is more. */
export function defaultMaxRemovals(liveFolders: number): number {
  return Math.max(2, Math.floor(liveFolders / 10));
}

/** Where the removal diagnostics point (the folder whose content decides what is removed), and their gate. */
const AT = { path: "tenants", line: 1, col: 1, reason: "removal-held" } as const;

const NAMES_SHOWN = 10;

function describe(removals: readonly Removal[]): string {
  const names = removals.slice(0, NAMES_SHOWN).map((r) => `${r.tenant} (${r.cluster})`);
  const more = removals.length - names.length;
  return more > 0 ? `${names.join(", ")} and ${more} more` : names.join(", ");
}

/** Pure: whether the removals the plan found may go ahead, or are all held (with why). */
export function decideRemovals(removals: readonly Removal[], policy: RemovalPolicy, liveFolders: number): RemovalDecision {
  if (removals.length === 0 || policy.kind === "any") return { kind: "remove" };
  const folders = removals.length === 1 ? "1 tenant folder" : `${removals.length} tenant folders`;
  if (policy.kind === "held") {
    return {
      kind: "hold",
      diagnostic: {
        ...AT,
        message: `removal of ${folders} held (${describe(removals)}): tenants/ has problems, listed above, and a tenant file that is missing because of them must not delete a live Secret; fix them and run again — the removal then goes ahead`,
      },
    };
  }
  const max = policy.max === "default" ? defaultMaxRemovals(liveFolders) : policy.max;
  if (removals.length <= max) return { kind: "remove" };
  const limit = policy.max === "default" ? `the default limit of ${max} (2, or 10% of the ${liveFolders} tenant folders committed)` : `--max-removals ${max}`;
  return {
    kind: "hold",
    diagnostic: {
      ...AT,
      message: `${folders} would be removed (${describe(removals)}), more than ${limit}: none was removed, everything else was rendered; if these tenants are really gone, run again with --allow-removals (or a higher --max-removals)`,
    },
  };
}
