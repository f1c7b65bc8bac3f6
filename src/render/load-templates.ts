import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { withReason, type Diagnostic } from "../errors.ts";
import { readFileInCheckedFolder } from "../model/read-repo-file.ts";
import { checkRepoFolder } from "../model/repo-paths.ts";
import { DEFAULT_SEALED_SECRET_FILE, DEFAULT_SEALED_SECRET_TEMPLATE } from "./default-template.ts";
import { compileTemplate } from "./template.ts";
import type { Template } from "./template.ts";

export const TEMPLATES_DIR = "templates";

export interface TemplateSet {
  /** sorted by output name; complete only when `diagnostics` is empty */
  readonly templates: readonly Template[];
  readonly diagnostics: readonly Diagnostic[];
}

/** The built-in SealedSecret template, compiled. */
export function builtInSealedSecretTemplate(): Template {
  const r = compileTemplate(DEFAULT_SEALED_SECRET_TEMPLATE, `<built-in>/${DEFAULT_SEALED_SECRET_FILE}`, DEFAULT_SEALED_SECRET_FILE, true);
  if (!r.ok) throw new Error("render: the built-in SealedSecret template does not compile");
  return r.template;
}

/**
 * Loads and checks `templates/*.yaml` (top level only: `templates/examples/` is documentation).
 * Exactly one SealedSecret template is used: the repository's, or the built-in one when no
 * template file is a SealedSecret. Used by `wildseal validate` and by the renderer.
 */
export async function validateTemplates(repoDir: string): Promise<TemplateSet> {
  const set = await readTemplates(repoDir);
  // every problem found here is a template problem, whichever helper (YAML, file read) found it
  return { templates: set.templates, diagnostics: withReason(set.diagnostics, "invalid-template") };
}

async function readTemplates(repoDir: string): Promise<TemplateSet> {
  const diagnostics: Diagnostic[] = [];
  let entries: { name: string; isFile: boolean; isLink: boolean }[] = [];
  // No templates/ at all means the built-in template (documented); a templates/ that is a link or a
  // file is a mistake (or an attack) and must not silently switch every tenant to the built-in one.
  const folder = await checkRepoFolder(repoDir, TEMPLATES_DIR);
  if (folder.kind === "refused") return { templates: [], diagnostics: [folder.diagnostic] };
  if (folder.kind === "folder") {
    const dirents = await readdir(join(repoDir, TEMPLATES_DIR), { withFileTypes: true });
    entries = dirents.map((d) => ({ name: d.name, isFile: d.isFile(), isLink: d.isSymbolicLink() }));
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const templates: Template[] = [];
  for (const entry of entries) {
    const file = `${TEMPLATES_DIR}/${entry.name}`;
    if (entry.name.endsWith(".yml")) {
      diagnostics.push({ path: file, line: 1, col: 1, message: `only templates/*.yaml files are rendered: rename it to ${entry.name.slice(0, -4)}.yaml (or move it to templates/examples/)` });
      continue;
    }
    if (!entry.name.endsWith(".yaml") || !(entry.isFile || entry.isLink)) continue;
    const read = await readFileInCheckedFolder(repoDir, file); // checked above
    if (read.kind === "missing") continue;
    if (read.kind === "refused") {
      diagnostics.push(read.diagnostic);
      continue;
    }
    const r = compileTemplate(read.text, file, entry.name);
    if (r.ok) templates.push(r.template);
    else diagnostics.push(...r.diagnostics);
  }

  const sealed = templates.filter((t) => t.sealedSecret);
  if (sealed.length === 0) {
    const clash = templates.find((t) => t.name === DEFAULT_SEALED_SECRET_FILE);
    if (clash !== undefined) {
      diagnostics.push({ path: clash.file, line: 1, col: 1, message: `no template is a SealedSecret, and the built-in one would be written as ${DEFAULT_SEALED_SECRET_FILE}, which this template uses: make one template kind: SealedSecret` });
    } else {
      templates.push(builtInSealedSecretTemplate());
      templates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
  }
  for (const extra of sealed.slice(1)) {
    diagnostics.push({
      path: extra.file,
      ...extra.kindAt,
      message: `a second SealedSecret template (the first is ${sealed[0]?.file}): wildseal renders exactly one SealedSecret per tenant; remove or merge one`,
    });
  }
  return { templates, diagnostics };
}
