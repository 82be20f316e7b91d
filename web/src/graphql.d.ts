// esbuild's text loader: the documents arrive as one string.
declare module "*.graphql" {
  const document: string;
  export default document;
}
