// What <ordergate-order> shows, built from its state on every change: plain functions of
// the view's state and the element's actions, so the element itself holds only the journey.
import { h, money, time } from "./dom";
import type { CustomerCancelReason, EligibilityFragment, OrderStatusQuery, RequestFragment } from "./generated/graphql";
import type { Language, Texts } from "./texts";

export type Order = NonNullable<OrderStatusQuery["orderStatus"]["order"]>;
export type Action = "lookup" | "cancel" | "report";
export type Panel = "none" | "cancel" | "report";
export interface Values { orderNumber: string; contact: string; reason: string; comment: string; code: string }
export interface Problem {
  message: string;
  field: string | null; // the id of the input at fault
}

/** The state a render reads. `values` is the element's own object: inputs write into it. */
export interface View {
  t: Texts;
  language: Language;
  values: Values;
  order: Order | null;
  panel: Panel;
  codeStep: { action: Action; message: string } | null;
  problem: Problem | null;
  result: RequestFragment | null;
  busy: boolean;
  blocked: boolean; // busy, or held by a 429 until retryAfter
}

/** What the customer can do; the element carries each out and renders again. */
export interface Actions {
  lookup(): void;
  submit(action: "cancel" | "report", withCode: boolean): void;
  resendCode(action: Action): void;
  open(panel: "cancel" | "report", focus: string): void;
  close(): void;
  reset(): void;
  problem(message: string, field: string | null): void;
}

// The server's limits (service/customer_input.py; tests/web/test_routes.py keeps them equal):
// a longer paste is cut at the field, never sent to be refused.
export const ORDER_NUMBER_MAX = 64;
export const CONTACT_MAX = 320;
export const CANCEL_COMMENT_MAX = 500;
export const REPORT_COMMENT_MAX = 1000;
const REASONS: CustomerCancelReason[] = [
  "ORDERED_BY_MISTAKE", "CHANGED_MIND", "FOUND_CHEAPER", "DELIVERY_TOO_SLOW", "WRONG_ITEM_OR_SIZE", "OTHER",
];

export function lookupView(v: View, on: Actions, t: Texts): Node[] {
  const form = h("form", { part: "lookup-form", novalidate: true, "aria-busy": v.busy ? "true" : null,
    onsubmit: (event: Event) => { event.preventDefault(); if (!v.blocked) on.lookup(); } },
    field(v, on, "og-order-number", t.orderNumber, t.orderNumberHint,
      input(v, on, "og-order-number", "orderNumber", { autocomplete: "off", required: true, spellcheck: "false", maxlength: String(ORDER_NUMBER_MAX) })),
    field(v, on, "og-contact", t.contact, t.contactHint,
      input(v, on, "og-contact", "contact", { autocomplete: "email", required: true, spellcheck: "false", maxlength: String(CONTACT_MAX) })),
    problemView(v, on),
    h("button", { type: "submit", part: "button", disabled: v.blocked }, t.find));
  const heading = h("h2", { part: "heading", id: "og-heading", tabindex: "-1" }, t.lookupHeading);
  if (v.codeStep?.action !== "lookup") return [heading, form];
  // A locked order opens only with the e-mailed code (step-up): ask for it in the form's place.
  const problem = problemView(v, on);
  return problem ? [heading, problem, codeView(v, on, t, "lookup")] : [heading, codeView(v, on, t, "lookup")];
}

export function orderView(v: View, on: Actions, order: Order, t: Texts): Node[] {
  const lang = v.language;
  return [
    h("h2", { part: "heading", id: "og-heading", tabindex: "-1" }, t.orderHeading(order.number)),
    h("dl", { part: "summary" },
      h("dt", {}, t.placed), h("dd", {}, time(order.placedAt, lang, "date")),
      order.cancelledAt ? [h("dt", {}, t.cancelled), h("dd", {}, time(order.cancelledAt, lang, "date"))] : null,
      h("dt", {}, t.total), h("dd", {}, money(order.total.amount, order.total.currencyCode, lang)),
      h("dt", {}, t.payment), h("dd", { part: "state", "data-state": order.financialStatus }, t.financial[order.financialStatus]),
      h("dt", {}, t.fulfilment), h("dd", { part: "state", "data-state": order.fulfillmentStatus }, t.fulfillment[order.fulfillmentStatus]),
      h("dt", {}, t.returns), h("dd", { part: "state", "data-state": order.returnStatus }, t.returnStatus[order.returnStatus])),
    h("section", { "aria-labelledby": "og-items" }, h("h3", { id: "og-items" }, t.items),
      h("ul", { class: "plain", part: "items" }, order.lineItems.map((item) =>
        h("li", {}, item.title, item.variantTitle ? ` (${item.variantTitle})` : "", ` ${t.quantity(item.quantity)}`)))),
    shipmentsView(v, on, order, t),
    resultView(v, on, t) ?? "",
    v.panel === "none" && v.codeStep === null ? (problemView(v, on) ?? "") : "",
    cancellationView(v, on, order.cancellation, t),
    notReceivedView(v, on, order.notReceived, t),
    requestsView(v, on, order, t),
    h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => on.reset() }, t.otherOrder),
  ].map((node) => (typeof node === "string" ? document.createTextNode(node) : node));
}

function shipmentsView(v: View, on: Actions, order: Order, t: Texts): HTMLElement {
  const lang = v.language;
  const list = order.shipments.map((shipment) => h("li", { part: "shipment" }, h("dl", {},
    h("dt", {}, t.carrier), h("dd", {}, shipment.carrier ?? "–"),
    h("dt", {}, t.shipmentStatus), h("dd", { part: "state", "data-state": shipment.status }, t.shipment[shipment.status]),
    shipment.trackingNumber ? [h("dt", {}, t.tracking), h("dd", {},
      webLink(shipment.trackingUrl)
        ? h("a", { href: shipment.trackingUrl, target: "_blank", rel: "noopener noreferrer", part: "tracking-link" },
            `${shipment.trackingNumber} – ${t.trackParcel}`)
        : shipment.trackingNumber)] : null,
    h("dt", {}, t.shipped), h("dd", {}, time(shipment.shippedAt, lang, "date")),
    shipment.estimatedDeliveryAt && !shipment.deliveredAt
      ? [h("dt", {}, t.estimate), h("dd", {}, time(shipment.estimatedDeliveryAt, lang, "date"))] : null,
    shipment.deliveredAt ? [h("dt", {}, t.delivered), h("dd", {}, time(shipment.deliveredAt, lang, "date"))] : null)));
  return h("section", { "aria-labelledby": "og-shipments", part: "shipments" },
    h("h3", { id: "og-shipments" }, t.shipments),
    list.length ? h("ul", { class: "plain" }, list) : h("p", {}, t.noShipments));
}

// The tracking URL is the shop's data (staff, a carrier app): only an http(s) address becomes a
// link, so a `javascript:` one can never run in the storefront's page when clicked.
function webLink(url: string | null | undefined): url is string {
  if (!url) return false;
  try {
    return ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}

function cancellationView(v: View, on: Actions, eligibility: EligibilityFragment, t: Texts): HTMLElement {
  const section = h("section", { "aria-labelledby": "og-cancel-heading", part: "cancellation" },
    h("h3", { id: "og-cancel-heading" }, t.cancellation));
  if (!eligibility.eligible) {
    section.append(h("p", { part: "eligibility" }, eligibility.message ?? ""));
    return section;
  }
  if (eligibility.until) section.append(h("p", { part: "eligibility" }, `${t.cancelUntil} `, time(eligibility.until, v.language, "until")));
  if (v.codeStep?.action === "cancel") {
    section.append(problemView(v, on) ?? "", codeView(v, on, t, "cancel"));
  } else if (v.panel === "cancel") {
    section.append(cancelForm(v, on, t));
  } else {
    section.append(h("button", { type: "button", part: "button", onclick: () => on.open("cancel", "og-reason") }, t.cancelOrder));
  }
  return section;
}

function cancelForm(v: View, on: Actions, t: Texts): HTMLElement {
  const select = h("select", { id: "og-reason", required: true, part: "input",
    "aria-invalid": v.problem?.field === "og-reason" ? "true" : null,
    "aria-describedby": v.problem?.field === "og-reason" ? "og-problem" : null,
    onchange: (event: Event) => { v.values.reason = (event.target as HTMLSelectElement).value; } },
    h("option", { value: "" }, t.chooseReason),
    REASONS.map((reason) => h("option", { value: reason, selected: v.values.reason === reason }, t.reasons[reason])));
  return h("form", { part: "cancel-form", novalidate: true, onsubmit: (event: Event) => {
      event.preventDefault();
      if (!v.values.reason) return on.problem(t.chooseReason, "og-reason");
      if (!v.blocked) on.submit("cancel", false);
    } },
    field(v, on, "og-reason", t.reason, null, select),
    field(v, on, "og-comment", t.comment, t.commentHint(CANCEL_COMMENT_MAX), textarea(v, on, CANCEL_COMMENT_MAX)),
    problemView(v, on),
    h("div", { class: "actions" },
      h("button", { type: "submit", part: "button", disabled: v.blocked }, t.sendCancellation),
      h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => on.close() }, t.back)));
}

function notReceivedView(v: View, on: Actions, eligibility: EligibilityFragment, t: Texts): HTMLElement {
  const section = h("section", { "aria-labelledby": "og-report-heading", part: "not-received" },
    h("h3", { id: "og-report-heading" }, t.notReceived));
  if (!eligibility.eligible) {
    section.append(h("p", { part: "eligibility" }, eligibility.message ?? ""));
    // The server's message names the date already, in the shop's time zone: a second rendering
    // here would show it twice, and in another zone. Only without a message is it shown.
    if (eligibility.from && !eligibility.message) section.append(h("p", { part: "eligibility" }, `${t.reportFrom} `, time(eligibility.from, v.language, "from")));
    return section;
  }
  if (v.codeStep?.action === "report") {
    section.append(problemView(v, on) ?? "", codeView(v, on, t, "report"));
  } else if (v.panel === "report") {
    section.append(h("form", { part: "report-form", novalidate: true, onsubmit: (event: Event) => {
        event.preventDefault();
        if (!v.blocked) on.submit("report", false);
      } },
      field(v, on, "og-comment", t.comment, t.commentHint(REPORT_COMMENT_MAX), textarea(v, on, REPORT_COMMENT_MAX)),
      problemView(v, on),
      h("div", { class: "actions" },
        h("button", { type: "submit", part: "button", disabled: v.blocked }, t.sendReport),
        h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => on.close() }, t.back))));
  } else {
    section.append(h("button", { type: "button", part: "button", onclick: () => on.open("report", "og-comment") }, t.reportOrder));
  }
  return section;
}

function codeView(v: View, on: Actions, t: Texts, action: Action): HTMLElement {
  return h("form", { part: "code-form", novalidate: true, onsubmit: (event: Event) => {
      event.preventDefault();
      if (v.blocked) return;
      if (action === "lookup") on.lookup();
      else on.submit(action, true);
    } },
    h("h4", { id: "og-code-heading" }, t.codeHeading),
    h("p", { id: "og-code-message", part: "message" }, v.codeStep?.message ?? ""),
    field(v, on, "og-code", t.code, t.codeHint, input(v, on, "og-code", "code", {
      inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]*", maxlength: "6", required: true })),
    h("div", { class: "actions" },
      h("button", { type: "submit", part: "button", disabled: v.blocked }, t.confirm),
      h("button", { type: "button", class: "secondary", part: "button secondary", disabled: v.blocked, onclick: () => on.resendCode(action) }, t.newCode),
      h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => on.close() }, t.back)));
}

function requestsView(v: View, on: Actions, order: Order, t: Texts): HTMLElement {
  const lang = v.language;
  const items = order.requests.map((request) => h("li", { part: "request", "data-kind": request.kind, "data-status": request.status },
    h("dl", {},
      h("dt", {}, t.kind[request.kind]), h("dd", { part: "state", "data-state": request.status }, t.requestStatus[request.status]),
      h("dt", {}, t.submitted), h("dd", {}, time(request.submittedAt, lang, "date")),
      request.resolution ? [h("dt", {}, t.resolution), h("dd", {}, t.resolutions[request.resolution])] : null),
    h("p", {}, request.message)));
  return h("section", { "aria-labelledby": "og-requests", part: "requests" },
    h("h3", { id: "og-requests" }, t.requestsHeading),
    items.length ? h("ul", { class: "plain" }, items) : h("p", {}, t.noRequests));
}

function resultView(v: View, on: Actions, t: Texts): HTMLElement | null {
  if (!v.result) return null;
  return h("div", { class: "notice", id: "og-result", tabindex: "-1", part: "result" },
    h("strong", {}, `${t.resultHeading}: ${t.kind[v.result.kind]} – ${t.requestStatus[v.result.status]}`),
    h("p", {}, v.result.message));
}

function problemView(v: View, on: Actions): HTMLElement | null {
  if (!v.problem) return null;
  return h("div", { class: "alert", id: "og-problem", tabindex: "-1", part: "error", role: "alert" },
    h("strong", {}, v.t.errorHeading), h("p", {}, v.problem.message));
}

function field(v: View, on: Actions, id: string, label: string, hint: string | null, control: HTMLElement): HTMLElement {
  if (hint) control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), `${id}-hint`].filter(Boolean).join(" "));
  return h("div", { part: "field" }, h("label", { for: id, part: "label" }, label),
    hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null, control);
}

function input(v: View, on: Actions, id: string, key: keyof Values, props: Record<string, string | boolean>): HTMLElement {
  const invalid = v.problem?.field === id;
  return h("input", { id, name: key, type: "text", part: "input", value: v.values[key], ...props,
    "aria-invalid": invalid ? "true" : null, "aria-describedby": invalid ? "og-problem" : null,
    oninput: (event: Event) => { v.values[key] = (event.target as HTMLInputElement).value; } });
}

function textarea(v: View, on: Actions, max: number): HTMLElement {
  const invalid = v.problem?.field === "og-comment";
  return h("textarea", { id: "og-comment", name: "comment", maxlength: String(max), part: "input", value: v.values.comment,
    "aria-invalid": invalid ? "true" : null, "aria-describedby": invalid ? "og-problem" : null,
    oninput: (event: Event) => { v.values.comment = (event.target as HTMLTextAreaElement).value; } });
}
