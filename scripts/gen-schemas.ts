// Writes schemas/*.schema.json from the zod schemas (src/model/json-schema.ts): `npm run schemas`.
// test/model/json-schema.test.ts fails when the committed files differ from what this writes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsonSchemaText, SCHEMA_DOCUMENTS } from "../src/model/json-schema.ts";
import { SCHEMA_FILES } from "../src/model/schema-url.ts";
import { packageRoot, wildsealVersion } from "../src/package-info.ts";

const root = packageRoot();
for (const doc of SCHEMA_DOCUMENTS) {
  const path = join(root, SCHEMA_FILES[doc]);
  const text = jsonSchemaText(doc, wildsealVersion());
  let before: string | undefined;
  try {
    before = readFileSync(path, "utf8");
  } catch {
    before = undefined;
  }
  if (before === text) {
    console.log(`unchanged ${SCHEMA_FILES[doc]}`);
    continue;
  }
  writeFileSync(path, text);
  console.log(`wrote     ${SCHEMA_FILES[doc]}`);
}
