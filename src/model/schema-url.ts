import { wildsealVersion } from "../package-info.ts";

/**
 * Where editors find wildseal's JSON Schemas (schemas/ in this repository, generated from the zod
 * schemas), pinned to the running version so a file written by `wildseal init` or `tenant add`
 * is checked against the format that version reads. The yaml-language-server comment is the
 * habit of Renovate and Kubernetes users: VS Code, Neovim and JetBrains pick it up.
 */
export type SchemaDocument = "config" | "tenant";

export const SCHEMA_FILES: Readonly<Record<SchemaDocument, string>> = {
  config: "schemas/wildseal.schema.json",
  tenant: "schemas/tenant.schema.json",
};

const REPOSITORY_RAW = "https://raw.githubusercontent.com/wildseal/wildseal";

export function schemaUrl(doc: SchemaDocument, version: string = wildsealVersion()): string {
  return `${REPOSITORY_RAW}/v${version}/${SCHEMA_FILES[doc]}`;
}

/** The first line of a file wildseal writes for people to edit. */
export function schemaComment(doc: SchemaDocument, version?: string): string {
  return `# yaml-language-server: $schema=${schemaUrl(doc, version)}\n`;
}
