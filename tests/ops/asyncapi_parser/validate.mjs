// Validate an AsyncAPI document with the official parser: node validate.mjs FILE
// Prints {"valid": bool, "version": ..., "diagnostics": [{code, message, path, severity}]}.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
console.log(JSON.stringify({
  valid: document !== undefined,
  version: document?.version() ?? null,
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  operations: document ? document.operations().all().map((o) => o.id()) : [],
  diagnostics: diagnostics.map((d) => ({
    code: d.code, message: d.message, path: d.path, severity: d.severity,
  })),
}));
