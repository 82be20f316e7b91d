// What the component itself says, in the four languages ordergate speaks. The server's own
// messages (refusals, eligibility, requests) arrive localised through Accept-Language; these
// are the labels around them. Each enum table is a Record over the generated type, so a value
// added to the schema fails the build until every language names it.
import type {
  CustomerCancelReason,
  FinancialStatus,
  FulfillmentStatus,
  RequestKind,
  RequestStatus,
  Resolution,
  ReturnStatus,
  ShipmentStatus,
} from "./generated/graphql";
import { da } from "./locales/da";
import { en } from "./locales/en";
import { nb } from "./locales/nb";
import { nl } from "./locales/nl";

export const LANGUAGES = ["en", "nb", "da", "nl"] as const;
export type Language = (typeof LANGUAGES)[number];

export interface Texts {
  lookupHeading: string;
  orderNumber: string;
  orderNumberHint: string;
  contact: string;
  contactHint: string;
  find: string;
  searching: string;
  orderHeading: (number: string) => string;
  placed: string;
  total: string;
  items: string;
  payment: string;
  fulfilment: string;
  returns: string;
  shipments: string;
  noShipments: string;
  carrier: string;
  tracking: string;
  trackParcel: string;
  shipped: string;
  estimate: string;
  delivered: string;
  shipmentStatus: string;
  cancellation: string;
  cancelUntil: string;
  cancelOrder: string;
  reason: string;
  chooseReason: string;
  comment: string;
  commentHint: (max: number) => string;
  sendCancellation: string;
  notReceived: string;
  reportFrom: string;
  reportOrder: string;
  sendReport: string;
  back: string;
  codeHeading: string;
  code: string;
  codeHint: string;
  confirm: string;
  newCode: string;
  requestsHeading: string;
  noRequests: string;
  submitted: string;
  status: string;
  resolution: string;
  resultHeading: string;
  errorHeading: string;
  unreachable: string;
  serviceError: string;
  tryAgainIn: (seconds: number) => string;
  otherOrder: string;
  cancelled: string;
  quantity: (count: number) => string;
  financial: Record<FinancialStatus, string>;
  fulfillment: Record<FulfillmentStatus, string>;
  returnStatus: Record<ReturnStatus, string>;
  shipment: Record<ShipmentStatus, string>;
  kind: Record<RequestKind, string>;
  requestStatus: Record<RequestStatus, string>;
  resolutions: Record<Resolution, string>;
  reasons: Record<CustomerCancelReason, string>;
}

export const TEXTS: Record<Language, Texts> = { en, nb, da, nl };

const ALIASES: Record<string, Language> = { no: "nb", nn: "nb" };

/** The language to speak: the attribute, else the page's `lang`, else English. */
export function pickLanguage(...candidates: (string | null | undefined)[]): Language {
  for (const candidate of candidates) {
    const primary = (candidate ?? "").trim().toLowerCase().split(/[-_]/)[0] ?? "";
    if ((LANGUAGES as readonly string[]).includes(primary)) return primary as Language;
    const alias = ALIASES[primary];
    if (alias) return alias;
  }
  return "en";
}
