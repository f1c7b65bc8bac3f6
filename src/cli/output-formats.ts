/** `-o yaml|json` as kubeseal prints it (its own module: seal.ts and unseal.ts register the flag without loading the YAML dumper). */
export const OUTPUT_FORMATS = ["json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
