// The embedded DynamoDB of `forward-orders serve`: dynalite, in memory, on a loopback port.
// Started by embedded_dynamodb.py as `node dynalite.js ROOT HOST PORT`: dynalite is resolved from
// ROOT's node_modules (the repository's package.json pins it), PORT 0 picks a free port. Prints
// {"port": N} on one line once listening, and exits when its standard input closes, so it never
// outlives the process that started it, however that one ends. Why dynalite: docs/local.md.
"use strict";

const [root, host, port] = process.argv.slice(2);
const dynalite = require(require.resolve("dynalite", { paths: [root] }));

// Tables are ACTIVE at once, as moto's were; dynalite's other limits are DynamoDB's.
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.on("error", (error) => {
  process.stderr.write(`dynalite: ${error.message}\n`);
  process.exit(1);
});
server.listen(Number(port), host, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});

process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
