// Types for the component's documents, generated from the committed public SDL: a schema
// change that breaks a document fails `npm run build` (validation here, then tsc), not a page.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  // ORDERGATE_SDL only for tests/web/test_bundle.py, which proves a changed schema fails here.
  schema: process.env.ORDERGATE_SDL ?? "../schema/ordergate.graphql",
  documents: ["src/operations.graphql"],
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript-operations"],
      config: {
        enumsAsTypes: true,
        avoidOptionals: false,
        skipTypename: true,
        useTypeImports: true,
        scalars: { DateTime: "string", Decimal: "string", ID: "string" },
        strictScalars: true,
      },
    },
  },
};

export default config;
