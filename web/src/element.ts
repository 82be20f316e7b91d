// <ordergate-order>: the customer's whole journey against an ordergate endpoint: look up,
// status and shipments, cancel (with the code step), report not received, earlier requests.
import { type Answer, newKey, send } from "./client";
import { h } from "./dom";
import type {
  OrderStatusQuery,
  OrderStatusQueryVariables,
  ProblemFragment,
  ReportNotReceivedMutation,
  ReportNotReceivedMutationVariables,
  RequestCancellationMutation,
  RequestCancellationMutationVariables,
  RequestFragment,
  UserErrorCode,
  CustomerCancelReason,
} from "./generated/graphql";
import { STYLES } from "./styles";
import { type Language, TEXTS, type Texts, pickLanguage } from "./texts";
import { type Action, type Actions, type Order, type Panel, type Problem, type Values, type View, lookupView, orderView } from "./views";

export type { Order } from "./views";

// Where an INVALID_INPUT's `field` points, by its last segment.
const FIELD_INPUTS: Record<string, string> = {
  orderNumber: "og-order-number", contact: "og-contact", reason: "og-reason",
  comment: "og-comment", verificationCode: "og-code",
};

export class OrdergateOrderElement extends HTMLElement {
  static readonly observedAttributes = ["endpoint", "lang", "order-number", "contact"];

  private readonly root: ShadowRoot;
  private readonly live: HTMLElement;
  private readonly view: HTMLElement;
  private values: Values = { orderNumber: "", contact: "", reason: "", comment: "", code: "" };
  private order: Order | null = null;
  private panel: Panel = "none";
  private codeStep: { action: Action; message: string } | null = null;
  private lookupCode: string | null = null; // the code a locked order was opened with
  private problem: Problem | null = null;
  private result: RequestFragment | null = null;
  private busy = false;
  private blockedUntil = 0;
  private keys: Record<"cancel" | "report", string> = { cancel: newKey(), report: newKey() };
  private focusAfterRender: string | null = null;
  private readonly actions: Actions = {
    lookup: () => void this.lookup(),
    submit: (action, withCode) => void this.submit(action, withCode),
    resendCode: (action) => {
      // The same request without a code: the server e-mails a new one.
      if (action === "lookup") {
        this.codeStep = null;
        void this.lookup();
      } else {
        void this.submit(action, false);
      }
    },
    open: (panel, focus) => this.open(panel, focus),
    close: () => this.close(),
    reset: () => this.reset(),
    problem: (message, field) => this.showProblem(message, field),
  };

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
      this.showProblem(answer.reached ? this.t.serviceError : this.t.unreachable, null);
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
    const view: View = {
      t, language: this.language, values: this.values, order: this.order, panel: this.panel,
      codeStep: this.codeStep, problem: this.problem, result: this.result, busy: this.busy, blocked: this.blocked,
    };
    this.view.replaceChildren(...(this.order ? orderView(view, this.actions, this.order, t) : lookupView(view, this.actions, t)));
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
