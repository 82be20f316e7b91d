// The GraphQL-over-HTTP working group's audit (graphql-http's `auditServer` suite) against a
// running ordergate: `node tests/audit.mjs http://127.0.0.1:8000/graphql`.
// Prints one JSON document with every audit's id, level, name, status and reason on stdout,
// and the tally per level on stderr; the caller (tests/web/test_graphql_over_http.py) judges.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node tests/audit.mjs URL-of-/graphql");
  process.exit(2);
}
// auditServer runs every audit at once; one address may hold at most 32 connections to
// ordergate (service/connections.py), so the same audits run here one after another.
const results = [];
for (const audit of serverAudits({ url })) results.push(await audit.fn());
const audits = await Promise.all(
  results.map(async (result) => ({
    id: result.id,
    level: result.name.split(" ")[0],
    name: result.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
    body: result.status === "ok" ? null : (await result.response.text()).slice(0, 300),
  })),
);
const tally = {};
for (const audit of audits) {
  tally[audit.level] ??= { ok: 0, total: 0 };
  tally[audit.level].total += 1;
  if (audit.status === "ok") tally[audit.level].ok += 1;
}
console.error(Object.entries(tally).map(([level, { ok, total }]) => `${level} ${ok}/${total}`).join(", "));
console.log(JSON.stringify(audits, null, 2));
