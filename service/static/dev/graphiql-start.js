// Starts GraphiQL for `ordergate dev` (served from the wheel with React and GraphiQL's
// vendored builds; see ../graphiql/README.md). A plain script: the page's CSP allows no inline one.
(function () {
  var root = document.getElementById("graphiql");
  var endpoint = root.getAttribute("data-endpoint");
  var example = [
    "# ordergate dev: the sandbox shop's demo orders are listed at /",
    "query LookUp {",
    '  orderStatus(orderNumber: "#1001", contact: "ada.lovelace@example.com") {',
    "    order {",
    "      number",
    "      fulfillmentStatus",
    "      cancellation { eligible reason until message }",
    "    }",
    "    userErrors { code message }",
    "  }",
    "}",
    "",
  ].join("\n");
  var fetcher = GraphiQL.createFetcher({ url: endpoint, enableIncrementalDelivery: false });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: example, defaultEditorToolsVisibility: true })
  );
})();
