/**
 * Size and shape of src/ for the architecture issue's before/after: folder cycles (strongly connected
 * folder groups in the import graph), files over 300 lines, functions over 80 lines. Reports, asserts
 * nothing (the import order itself is enforced by scripts/check-imports.mjs).
 *
 *   node --import tsx bench/code-stats.ts [SRC_DIR]
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const src = resolve(process.argv[2] ?? join(import.meta.dirname, "..", "src"));
const files: string[] = [];
const walk = (d: string): void => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".ts")) files.push(p);
  }
};
walk(src);

const folderOf = (f: string) => {
  const parts = relative(src, f).split("/");
  return parts.length === 1 ? "." : (parts[0] ?? ".");
};
const edges = new Map<string, Set<string>>();
const bigFiles: string[] = [];
const bigFunctions: string[] = [];
for (const f of files) {
  const text = readFileSync(f, "utf8");
  const lines = text.split("\n").length;
  if (lines > 300) bigFiles.push(`${relative(src, f)} (${lines})`);
  const sf = ts.createSourceFile(f, text, ts.ScriptTarget.ES2022, true);
  const visit = (n: ts.Node): void => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text.startsWith(".")) {
      const to = folderOf(resolve(dirname(f), n.moduleSpecifier.text));
      const from = folderOf(f);
      if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
    }
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) {
      const start = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const end = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n)) && n.name ? n.name.getText() : ts.isVariableDeclaration(n.parent) ? n.parent.name.getText() : "(anonymous)";
      if (end - start + 1 > 80) bigFunctions.push(`${relative(src, f)}:${start + 1} ${name} (${end - start + 1})`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

// Tarjan's strongly connected components over folders
let index = 0;
const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
const sccs: string[][] = [];
const strong = (v: string): void => {
  idx.set(v, index); low.set(v, index); index++; stack.push(v); on.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!idx.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
    else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
  }
  if (low.get(v) === idx.get(v)) {
    const c: string[] = [];
    for (let w = stack.pop()!; ; w = stack.pop()!) { on.delete(w); c.push(w); if (w === v) break; }
    if (c.length > 1) sccs.push(c.sort());
  }
};
for (const v of new Set([...edges.keys(), ...[...edges.values()].flatMap((s) => [...s])])) if (!idx.has(v)) strong(v);

console.log(`files: ${files.length}, lines: ${files.reduce((n, f) => n + readFileSync(f, "utf8").split("\n").length, 0)}`);
console.log(`folder cycles (strongly connected folder groups): ${sccs.length}${sccs.map((c) => `\n  ${c.join(" ⇄ ")}`).join("")}`);
console.log(`files over 300 lines: ${bigFiles.length}${bigFiles.map((f) => `\n  ${f}`).join("")}`);
console.log(`functions over 80 lines: ${bigFunctions.length}${bigFunctions.map((f) => `\n  ${f}`).join("")}`);
