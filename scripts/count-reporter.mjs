// A test reporter that writes the number of passed tests, so run-tests can refuse an empty run.
export default async function* countReporter(source) {
  let passed = 0;
  for await (const event of source) {
    if (event.type === "test:pass" && event.data.details?.type !== "suite") passed += 1;
  }
  yield `${passed}\n`;
}
