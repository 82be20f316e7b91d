// Builds what ordergate serves from its wheel, and checks that the committed copies are current.
//   node scripts/build.mjs          bundle the element into dist/ and service/static/elements/,
//                                   and copy GraphiQL's assets (with their licences) into
//                                   service/static/graphiql/
//   node scripts/build.mjs --check  build in memory and exit 1 when a committed file differs
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(web, "..");
const statics = join(repo, "service", "static");
const modules = join(web, "node_modules");
const resolve = (path) => join(modules, path);
const check = process.argv.includes("--check");

async function element() {
  const result = await build({
    entryPoints: [join(web, "src", "ordergate.ts")],
    bundle: true,
    format: "esm",
    target: "es2021",
    minify: true,
    legalComments: "none",
    loader: { ".graphql": "text" },
    write: false,
    outfile: "ordergate.js",
    logLevel: "error",
  });
  const banner = "/*! <ordergate-order> | MIT licence | built from ordergate's web/ */\n";
  return banner + result.outputFiles[0].text;
}

// GraphiQL's published browser builds: React 18 and ReactDOM as UMD, GraphiQL 3 on top. Their
// sourceMappingURL lines are dropped: the maps are not shipped, and nothing may be requested
// that the wheel does not hold.
function vendored(path) {
  const text = readFileSync(resolve(path), "utf8");
  return text.replace(/\n?\/[*/]# sourceMappingURL=[^\n]*\s*$/, "\n");
}

function graphiqlAssets() {
  const version = (name) => JSON.parse(readFileSync(resolve(`${name}/package.json`), "utf8")).version;
  const notice = [
    "GraphiQL for `ordergate dev`, served from the wheel: no CDN.",
    "Built by web/scripts/build.mjs from these npm packages, each under its own licence:",
    "",
    `- graphiql ${version("graphiql")}: graphiql.min.js, graphiql.min.css (LICENSE-graphiql, MIT)`,
    `- react ${version("react")}: react.production.min.js (LICENSE-react, MIT)`,
    `- react-dom ${version("react-dom")}: react-dom.production.min.js (LICENSE-react-dom, MIT)`,
    "",
    "graphiql.min.js bundles GraphiQL's own dependencies; their licence headers are kept in it.",
    "",
  ].join("\n");
  return {
    "graphiql.min.js": vendored("graphiql/graphiql.min.js"),
    "graphiql.min.css": vendored("graphiql/graphiql.min.css"),
    "react.production.min.js": vendored("react/umd/react.production.min.js"),
    "react-dom.production.min.js": vendored("react-dom/umd/react-dom.production.min.js"),
    "LICENSE-graphiql": readFileSync(resolve("graphiql/LICENSE"), "utf8"),
    "LICENSE-react": readFileSync(resolve("react/LICENSE"), "utf8"),
    "LICENSE-react-dom": readFileSync(resolve("react-dom/LICENSE"), "utf8"),
    "README.md": notice,
  };
}

const bundle = await element();
const outputs = { [join(statics, "elements", "ordergate.js")]: bundle };
for (const [name, text] of Object.entries(graphiqlAssets())) outputs[join(statics, "graphiql", name)] = text;

if (check) {
  const stale = Object.entries(outputs)
    .filter(([path, text]) => !existsSync(path) || readFileSync(path, "utf8") !== text)
    .map(([path]) => relative(repo, path));
  if (stale.length) {
    console.error(`stale build output, run \`npm run build\` in web/ and commit:\n  ${stale.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`build output current: ${Object.keys(outputs).length} files`);
} else {
  mkdirSync(join(web, "dist"), { recursive: true });
  writeFileSync(join(web, "dist", "ordergate.js"), bundle);
  for (const [path, text] of Object.entries(outputs)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  console.log(`built ${relative(repo, join(statics, "elements", "ordergate.js"))}: ${bundle.length} bytes`);
}
