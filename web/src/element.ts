// <ordergate-order>: the customer's whole journey against an ordergate endpoint: look up,
// status and shipments, cancel (with the code step), report not received, earlier requests.
import { type Answer, newKey, send } from "./client";
import { h, money, time } from "./dom";
import type {
  CustomerCancelReason,
  EligibilityFragment,
  OrderStatusQuery,
  OrderStatusQueryVariables,
  ProblemFragment,
  ReportNotReceivedMutation,
  ReportNotReceivedMutationVariables,
  RequestCancellationMutation,
  RequestCancellationMutationVariables,
  RequestFragment,
  UserErrorCode,
} from "./generated/graphql";
import { STYLES } from "./styles";
import { type Language, TEXTS, type Texts, pickLanguage } from "./texts";

export type Order = NonNullable<OrderStatusQuery["orderStatus"]["order"]>;
type Action = "lookup" | "cancel" | "report";

const CANCEL_COMMENT_MAX = 500;
const REPORT_COMMENT_MAX = 1000;
const REASONS: CustomerCancelReason[] = [
  "ORDERED_BY_MISTAKE", "CHANGED_MIND", "FOUND_CHEAPER", "DELIVERY_TOO_SLOW", "WRONG_ITEM_OR_SIZE", "OTHER",
];
// Where an INVALID_INPUT's `field` points, by its last segment.
const FIELD_INPUTS: Record<string, string> = {
  orderNumber: "og-order-number", contact: "og-contact", reason: "og-reason",
  comment: "og-comment", verificationCode: "og-code",
};

interface Problem {
  message: string;
  field: string | null; // the id of the input at fault
}

export class OrdergateOrderElement extends HTMLElement {
  static readonly observedAttributes = ["endpoint", "lang", "order-number", "contact"];

  private readonly root: ShadowRoot;
  private readonly live: HTMLElement;
  private readonly view: HTMLElement;
  private values = { orderNumber: "", contact: "", reason: "", comment: "", code: "" };
  private order: Order | null = null;
  private panel: "none" | "cancel" | "report" = "none";
  private codeStep: { action: Action; message: string } | null = null;
  private lookupCode: string | null = null; // the code a locked order was opened with
  private problem: Problem | null = null;
  private result: RequestFragment | null = null;
  private busy = false;
  private blockedUntil = 0;
  private keys: Record<"cancel" | "report", string> = { cancel: newKey(), report: newKey() };
  private focusAfterRender: string | null = null;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = STYLES;
    // Announcements live outside the re-rendered view, so screen readers hear every change.
    this.live = h("div", { class: "visually-hidden", role: "status", "aria-live": "polite", part: "live" });
    this.view = h("div", { part: "container" });
    this.root.append(style, this.live, this.view);
  }

  connectedCallback(): void {
    this.values.orderNumber ||= this.getAttribute("order-number") ?? "";
    this.values.contact ||= this.getAttribute("contact") ?? "";
    this.render();
  }

  attributeChangedCallback(name: string, _old: string | null, value: string | null): void {
    if (name === "order-number" && !this.order) this.values.orderNumber = value ?? "";
    if (name === "contact" && !this.order) this.values.contact = value ?? "";
    if (this.isConnected) this.render();
  }

  /** The language spoken: the `lang` attribute, else the page's, else English. */
  get language(): Language {
    const page = this.parentElement?.closest("[lang]")?.getAttribute("lang");
    return pickLanguage(this.getAttribute("lang"), page, document.documentElement.lang);
  }

  get endpoint(): string {
    return this.getAttribute("endpoint") || "/graphql";
  }

  private get t(): Texts {
    return TEXTS[this.language];
  }

  // ---- talking to ordergate ------------------------------------------------------------

  private async lookup(options: { quiet?: boolean } = {}): Promise<void> {
    const code = this.codeStep?.action === "lookup" ? this.values.code.trim() : this.lookupCode;
    const variables: OrderStatusQueryVariables = {
      orderNumber: this.values.orderNumber,
      contact: this.values.contact,
      verificationCode: code || null,
    };
    const answer = await this.call<OrderStatusQuery, OrderStatusQueryVariables>("OrderStatus", variables, options);
    if (!answer) return;
    const { order, userErrors } = answer.orderStatus;
    if (order) {
      if (this.codeStep?.action === "lookup") this.lookupCode = code || null;
      const first = !this.order || this.order.number !== order.number;
      this.order = order;
      this.codeStep = null;
      if (!options.quiet) this.problem = null;
      if (first) this.focusAfterRender = "og-heading"; // read out as focus lands on it
      this.dispatch("ordergate-lookup", { number: order.number });
      this.render();
      return;
    }
    this.refused(userErrors, "lookup");
  }

  private async submit(action: "cancel" | "report", withCode: boolean): Promise<void> {
    if (!this.order) return;
    const common = {
      orderNumber: this.values.orderNumber,
      contact: this.values.contact,
      comment: this.values.comment.trim() || null,
      idempotencyKey: this.keys[action],
      verificationCode: withCode ? this.values.code.trim() : (this.lookupCode ?? null),
    };
    let payload: { request: RequestFragment | null; userErrors: ProblemFragment[] } | undefined;
    if (action === "cancel") {
      const input = { ...common, reason: this.values.reason as CustomerCancelReason };
      payload = (await this.call<RequestCancellationMutation, RequestCancellationMutationVariables>(
        "RequestCancellation", { input }))?.requestCancellation;
    } else {
      payload = (await this.call<ReportNotReceivedMutation, ReportNotReceivedMutationVariables>(
        "ReportNotReceived", { input: common }))?.reportNotReceived;
    }
    if (!payload) return;
    if (payload.request) {
      this.result = payload.request;
      this.panel = "none";
      this.codeStep = null;
      this.problem = null;
      this.values.code = "";
      this.values.comment = "";
      this.keys[action] = newKey();
      this.focusAfterRender = "og-result"; // read out as focus lands on it
      this.dispatch("ordergate-request", { ...payload.request });
      this.render();
      await this.lookup({ quiet: true }); // the order as it now stands, with the new request
      return;
    }
    this.refused(payload.userErrors, action);
  }

  /** One request; a refusal by HTTP (429, outage, network) is shown and undefined returned. */
  private async call<T, V>(operation: string, variables: V, options: { quiet?: boolean } = {}): Promise<T | undefined> {
    this.busy = true;
    if (!options.quiet) this.announce(this.t.searching);
    this.render();
    let answer: Answer<T>;
    try {
      answer = await send<T, V>(this.endpoint, operation, variables, this.language);
    } finally {
      this.busy = false;
    }
    if (answer.kind === "data") return answer.data;
    if (answer.kind === "rate-limited") {
      this.blockedUntil = Date.now() + answer.retryAfter * 1000;
      setTimeout(() => this.render(), answer.retryAfter * 1000 + 50);
      // The server's message already says when, in the customer's language.
      this.showProblem(answer.message || this.t.tryAgainIn(answer.retryAfter), null);
    } else {
      this.showProblem(answer.message ?? this.t.unreachable, null);
    }
    return undefined;
  }

  /** Every userErrors code, each handled as the customer needs it. */
  private refused(errors: ProblemFragment[], action: Action): void {
    const error = errors[0];
    if (!error) {
      this.showProblem(this.t.unreachable, null);
      return;
    }
    const code: UserErrorCode = error.code;
    switch (code) {
      case "VERIFICATION_REQUIRED":
        this.codeStep = { action, message: error.message };
        this.problem = null;
        this.values.code = "";
        this.announce(error.message);
        this.focusAfterRender = "og-code";
        this.render();
        return;
      case "VERIFICATION_FAILED":
        this.codeStep = { action, message: this.codeStep?.message ?? error.message };
        this.values.code = "";
        this.showProblem(error.message, "og-code");
        return;
      case "IDEMPOTENCY_KEY_REUSED":
        if (action !== "lookup") this.keys[action] = newKey(); // the next try is a new request
        this.showProblem(error.message, null);
        return;
      case "INVALID_INPUT":
        this.showProblem(error.message, FIELD_INPUTS[error.field?.at(-1) ?? ""] ?? null);
        return;
      case "NOT_ELIGIBLE":
        this.panel = "none";
        this.codeStep = null;
        this.showProblem(error.message, null);
        void this.lookup({ quiet: true }); // show why, as the order now stands
        return;
      case "ORDER_NOT_FOUND":
      case "UPSTREAM_UNAVAILABLE":
        this.showProblem(error.message, action === "lookup" ? "og-order-number" : null);
        return;
      default: {
        const unhandled: never = code;
        this.showProblem(String(unhandled), null);
      }
    }
  }

  private showProblem(message: string, field: string | null): void {
    this.problem = { message, field };
    this.focusAfterRender = field ?? "og-problem";
    this.render();
  }

  private announce(message: string): void {
    // Cleared first, so the same sentence twice is announced twice.
    this.live.textContent = "";
    requestAnimationFrame(() => { this.live.textContent = message; });
  }

  private dispatch(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // ---- rendering -----------------------------------------------------------------------

  private render(): void {
    const t = this.t;
    // The view is rebuilt on every change: focus stays where it was unless a step moves it.
    const kept = this.root.activeElement?.id || null;
    this.view.lang = this.language;
    this.view.replaceChildren(...(this.order ? this.orderView(this.order, t) : this.lookupView(t)));
    const wanted = this.focusAfterRender ?? kept;
    const target = wanted ? this.root.getElementById(wanted) : null;
    if (target) {
      if (wanted === this.focusAfterRender) this.focusAfterRender = null;
      target.focus();
    }
  }

  private get blocked(): boolean {
    return this.busy || Date.now() < this.blockedUntil;
  }

  private lookupView(t: Texts): Node[] {
    const form = h("form", { part: "lookup-form", novalidate: true, "aria-busy": this.busy ? "true" : null,
      onsubmit: (event: Event) => { event.preventDefault(); if (!this.blocked) void this.lookup(); } },
      this.field("og-order-number", t.orderNumber, t.orderNumberHint,
        this.input("og-order-number", "orderNumber", { autocomplete: "off", required: true, spellcheck: "false" })),
      this.field("og-contact", t.contact, t.contactHint,
        this.input("og-contact", "contact", { autocomplete: "email", required: true, spellcheck: "false" })),
      this.problemView(),
      h("button", { type: "submit", part: "button", disabled: this.blocked }, t.find));
    const heading = h("h2", { part: "heading", id: "og-heading", tabindex: "-1" }, t.lookupHeading);
    if (this.codeStep?.action !== "lookup") return [heading, form];
    // A locked order opens only with the e-mailed code (step-up): ask for it in the form's place.
    const problem = this.problemView();
    return problem ? [heading, problem, this.codeView(t, "lookup")] : [heading, this.codeView(t, "lookup")];
  }

  private orderView(order: Order, t: Texts): Node[] {
    const lang = this.language;
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
      this.shipmentsView(order, t),
      this.resultView(t) ?? "",
      this.panel === "none" && this.codeStep === null ? (this.problemView() ?? "") : "",
      this.cancellationView(order.cancellation, t),
      this.notReceivedView(order.notReceived, t),
      this.requestsView(order, t),
      h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => this.reset() }, t.otherOrder),
    ].map((node) => (typeof node === "string" ? document.createTextNode(node) : node));
  }

  private shipmentsView(order: Order, t: Texts): HTMLElement {
    const lang = this.language;
    const list = order.shipments.map((shipment) => h("li", { part: "shipment" }, h("dl", {},
      h("dt", {}, t.carrier), h("dd", {}, shipment.carrier ?? "–"),
      h("dt", {}, t.shipmentStatus), h("dd", { part: "state", "data-state": shipment.status }, t.shipment[shipment.status]),
      shipment.trackingNumber ? [h("dt", {}, t.tracking), h("dd", {},
        shipment.trackingUrl
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

  private cancellationView(eligibility: EligibilityFragment, t: Texts): HTMLElement {
    const section = h("section", { "aria-labelledby": "og-cancel-heading", part: "cancellation" },
      h("h3", { id: "og-cancel-heading" }, t.cancellation));
    if (!eligibility.eligible) {
      section.append(h("p", { part: "eligibility" }, eligibility.message ?? ""));
      return section;
    }
    if (eligibility.until) section.append(h("p", { part: "eligibility" }, `${t.cancelUntil} `, time(eligibility.until, this.language, "until")));
    if (this.codeStep?.action === "cancel") {
      section.append(this.problemView() ?? "", this.codeView(t, "cancel"));
    } else if (this.panel === "cancel") {
      section.append(this.cancelForm(t));
    } else {
      section.append(h("button", { type: "button", part: "button", onclick: () => this.open("cancel", "og-reason") }, t.cancelOrder));
    }
    return section;
  }

  private cancelForm(t: Texts): HTMLElement {
    const select = h("select", { id: "og-reason", required: true, part: "input",
      "aria-invalid": this.problem?.field === "og-reason" ? "true" : null,
      "aria-describedby": this.problem?.field === "og-reason" ? "og-problem" : null,
      onchange: (event: Event) => { this.values.reason = (event.target as HTMLSelectElement).value; } },
      h("option", { value: "" }, t.chooseReason),
      REASONS.map((reason) => h("option", { value: reason, selected: this.values.reason === reason }, t.reasons[reason])));
    return h("form", { part: "cancel-form", novalidate: true, onsubmit: (event: Event) => {
        event.preventDefault();
        if (!this.values.reason) return this.showProblem(t.chooseReason, "og-reason");
        if (!this.blocked) void this.submit("cancel", false);
      } },
      this.field("og-reason", t.reason, null, select),
      this.field("og-comment", t.comment, t.commentHint(CANCEL_COMMENT_MAX), this.textarea(CANCEL_COMMENT_MAX)),
      this.problemView(),
      h("div", { class: "actions" },
        h("button", { type: "submit", part: "button", disabled: this.blocked }, t.sendCancellation),
        h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => this.close() }, t.back)));
  }

  private notReceivedView(eligibility: EligibilityFragment, t: Texts): HTMLElement {
    const section = h("section", { "aria-labelledby": "og-report-heading", part: "not-received" },
      h("h3", { id: "og-report-heading" }, t.notReceived));
    if (!eligibility.eligible) {
      section.append(h("p", { part: "eligibility" }, eligibility.message ?? ""));
      if (eligibility.from) section.append(h("p", { part: "eligibility" }, `${t.reportFrom} `, time(eligibility.from, this.language, "from")));
      return section;
    }
    if (this.codeStep?.action === "report") {
      section.append(this.problemView() ?? "", this.codeView(t, "report"));
    } else if (this.panel === "report") {
      section.append(h("form", { part: "report-form", novalidate: true, onsubmit: (event: Event) => {
          event.preventDefault();
          if (!this.blocked) void this.submit("report", false);
        } },
        this.field("og-comment", t.comment, t.commentHint(REPORT_COMMENT_MAX), this.textarea(REPORT_COMMENT_MAX)),
        this.problemView(),
        h("div", { class: "actions" },
          h("button", { type: "submit", part: "button", disabled: this.blocked }, t.sendReport),
          h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => this.close() }, t.back))));
    } else {
      section.append(h("button", { type: "button", part: "button", onclick: () => this.open("report", "og-comment") }, t.reportOrder));
    }
    return section;
  }

  private codeView(t: Texts, action: Action): HTMLElement {
    const resend = action === "lookup"
      ? () => { this.codeStep = null; void this.lookup(); }
      : () => void this.submit(action, false);
    return h("form", { part: "code-form", novalidate: true, onsubmit: (event: Event) => {
        event.preventDefault();
        if (this.blocked) return;
        if (action === "lookup") void this.lookup();
        else void this.submit(action, true);
      } },
      h("h4", { id: "og-code-heading" }, t.codeHeading),
      h("p", { id: "og-code-message", part: "message" }, this.codeStep?.message ?? ""),
      this.field("og-code", t.code, t.codeHint, this.input("og-code", "code", {
        inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]*", maxlength: "6", required: true })),
      h("div", { class: "actions" },
        h("button", { type: "submit", part: "button", disabled: this.blocked }, t.confirm),
        h("button", { type: "button", class: "secondary", part: "button secondary", disabled: this.blocked, onclick: resend }, t.newCode),
        h("button", { type: "button", class: "secondary", part: "button secondary", onclick: () => this.close() }, t.back)));
  }

  private requestsView(order: Order, t: Texts): HTMLElement {
    const lang = this.language;
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

  private resultView(t: Texts): HTMLElement | null {
    if (!this.result) return null;
    return h("div", { class: "notice", id: "og-result", tabindex: "-1", part: "result" },
      h("strong", {}, `${t.resultHeading}: ${t.kind[this.result.kind]} – ${t.requestStatus[this.result.status]}`),
      h("p", {}, this.result.message));
  }

  private problemView(): HTMLElement | null {
    if (!this.problem) return null;
    return h("div", { class: "alert", id: "og-problem", tabindex: "-1", part: "error", role: "alert" },
      h("strong", {}, this.t.errorHeading), h("p", {}, this.problem.message));
  }

  private field(id: string, label: string, hint: string | null, control: HTMLElement): HTMLElement {
    if (hint) control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), `${id}-hint`].filter(Boolean).join(" "));
    return h("div", { part: "field" }, h("label", { for: id, part: "label" }, label),
      hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null, control);
  }

  private input(id: string, key: keyof typeof this.values, props: Record<string, string | boolean>): HTMLElement {
    const invalid = this.problem?.field === id;
    return h("input", { id, name: key, type: "text", part: "input", value: this.values[key], ...props,
      "aria-invalid": invalid ? "true" : null, "aria-describedby": invalid ? "og-problem" : null,
      oninput: (event: Event) => { this.values[key] = (event.target as HTMLInputElement).value; } });
  }

  private textarea(max: number): HTMLElement {
    const invalid = this.problem?.field === "og-comment";
    return h("textarea", { id: "og-comment", name: "comment", maxlength: String(max), part: "input", value: this.values.comment,
      "aria-invalid": invalid ? "true" : null, "aria-describedby": invalid ? "og-problem" : null,
      oninput: (event: Event) => { this.values.comment = (event.target as HTMLTextAreaElement).value; } });
  }

  private open(panel: "cancel" | "report", focus: string): void {
    this.panel = panel;
    this.problem = null;
    this.result = null;
    this.focusAfterRender = focus;
    this.render();
  }

  private close(): void {
    const action = this.codeStep?.action ?? this.panel;
    this.panel = "none";
    this.codeStep = null;
    this.problem = null;
    this.focusAfterRender = action === "lookup" ? "og-order-number" : "og-heading";
    this.render();
  }

  private reset(): void {
    this.order = null;
    this.panel = "none";
    this.codeStep = null;
    this.lookupCode = null;
    this.problem = null;
    this.result = null;
    this.values = { ...this.values, reason: "", comment: "", code: "" };
    this.focusAfterRender = "og-order-number";
    this.render();
  }
}
