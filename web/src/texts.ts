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

const en: Texts = {
  lookupHeading: "Find your order",
  orderNumber: "Order number",
  orderNumberHint: "As in your order confirmation, e.g. #1001",
  contact: "E-mail or phone number",
  contactHint: "The one you ordered with",
  find: "Find order",
  searching: "Looking up your order…",
  orderHeading: (number) => `Order ${number}`,
  placed: "Placed",
  total: "Total",
  items: "Items",
  payment: "Payment",
  fulfilment: "Fulfilment",
  returns: "Returns",
  shipments: "Shipments",
  noShipments: "Nothing has been shipped yet.",
  carrier: "Carrier",
  tracking: "Tracking number",
  trackParcel: "Track parcel",
  shipped: "Shipped",
  estimate: "Expected delivery",
  delivered: "Delivered",
  shipmentStatus: "Status",
  cancellation: "Cancel the order",
  cancelUntil: "You can cancel until",
  cancelOrder: "Cancel order…",
  reason: "Why do you want to cancel?",
  chooseReason: "Choose a reason",
  comment: "Comment (optional)",
  commentHint: (max) => `At most ${max} characters.`,
  sendCancellation: "Request cancellation",
  notReceived: "Order not received?",
  reportFrom: "You can report it from",
  reportOrder: "Report not received…",
  sendReport: "Report not received",
  back: "Back",
  codeHeading: "Enter the code from your e-mail",
  code: "Six-digit code",
  codeHint: "We e-mailed it to the address on the order.",
  confirm: "Confirm",
  newCode: "Send a new code",
  requestsHeading: "Your requests",
  noRequests: "No requests yet.",
  submitted: "Submitted",
  status: "Status",
  resolution: "Outcome",
  resultHeading: "Your request",
  errorHeading: "Something needs your attention",
  unreachable: "We could not reach the order service. Please try again in a moment.",
  tryAgainIn: (seconds) => `You can try again in ${seconds} s.`,
  otherOrder: "Look up another order",
  cancelled: "Cancelled",
  quantity: (count) => `× ${count}`,
  financial: {
    AUTHORIZED: "Authorised", EXPIRED: "Expired", PAID: "Paid", PARTIALLY_PAID: "Partially paid",
    PARTIALLY_REFUNDED: "Partially refunded", PENDING: "Pending", REFUNDED: "Refunded",
    VOIDED: "Voided", UNKNOWN: "Unknown",
  },
  fulfillment: {
    FULFILLED: "Shipped", FULFILLMENT_NOT_REQUIRED: "Nothing to ship", IN_PROGRESS: "Being packed",
    ON_HOLD: "On hold", OPEN: "Not shipped yet", PARTIALLY_FULFILLED: "Partly shipped",
    PENDING_FULFILLMENT: "Waiting to be packed", REQUEST_DECLINED: "Declined", RESTOCKED: "Restocked",
    SCHEDULED: "Scheduled", UNFULFILLED: "Not shipped yet", UNKNOWN: "Unknown",
  },
  returnStatus: {
    INSPECTION_COMPLETE: "Return inspected", IN_PROGRESS: "Return in progress", NO_RETURN: "No return",
    RETURNED: "Returned", RETURN_FAILED: "Return failed", RETURN_REQUESTED: "Return requested",
    UNKNOWN: "Unknown",
  },
  shipment: {
    ATTEMPTED_DELIVERY: "Delivery attempted", CANCELED: "Cancelled", CARRIER_PICKED_UP: "Picked up by carrier",
    CONFIRMED: "Confirmed", DELAYED: "Delayed", DELIVERED: "Delivered", FAILURE: "Delivery failed",
    FULFILLED: "Shipped", IN_TRANSIT: "In transit", LABEL_PRINTED: "Label printed",
    LABEL_PURCHASED: "Label purchased", LABEL_VOIDED: "Label voided", MARKED_AS_FULFILLED: "Shipped",
    NOT_DELIVERED: "Not delivered", OUT_FOR_DELIVERY: "Out for delivery", PICKED_UP: "Picked up",
    READY_FOR_PICKUP: "Ready for pickup", SUBMITTED: "Submitted", UNKNOWN: "Unknown",
  },
  kind: { CANCELLATION: "Cancellation", NOT_RECEIVED: "Not received" },
  requestStatus: {
    CANCELLED: "Cancelled", PROCESSING: "Processing", PENDING_REVIEW: "Being reviewed",
    DECLINED: "Declined", OPEN: "Open", RESOLVED: "Resolved",
  },
  resolutions: {
    CANCELLED: "Order cancelled", DECLINED: "Declined", REFUNDED: "Refunded",
    RESHIPPED: "Sent again", DELIVERED: "Delivered according to the carrier",
  },
  reasons: {
    ORDERED_BY_MISTAKE: "I ordered by mistake", CHANGED_MIND: "I changed my mind",
    FOUND_CHEAPER: "I found it cheaper elsewhere", DELIVERY_TOO_SLOW: "Delivery takes too long",
    WRONG_ITEM_OR_SIZE: "Wrong item or size", OTHER: "Something else",
  },
};

const nb: Texts = {
  lookupHeading: "Finn bestillingen din",
  orderNumber: "Ordrenummer",
  orderNumberHint: "Som i ordrebekreftelsen, f.eks. #1001",
  contact: "E-post eller telefonnummer",
  contactHint: "Den du bestilte med",
  find: "Finn bestilling",
  searching: "Henter bestillingen din …",
  orderHeading: (number) => `Bestilling ${number}`,
  placed: "Bestilt",
  total: "Totalt",
  items: "Varer",
  payment: "Betaling",
  fulfilment: "Forsendelse",
  returns: "Retur",
  shipments: "Pakker",
  noShipments: "Ingenting er sendt ennå.",
  carrier: "Transportør",
  tracking: "Sporingsnummer",
  trackParcel: "Spor pakken",
  shipped: "Sendt",
  estimate: "Forventet levert",
  delivered: "Levert",
  shipmentStatus: "Status",
  cancellation: "Kanseller bestillingen",
  cancelUntil: "Du kan kansellere til",
  cancelOrder: "Kanseller bestilling …",
  reason: "Hvorfor vil du kansellere?",
  chooseReason: "Velg en grunn",
  comment: "Kommentar (valgfritt)",
  commentHint: (max) => `Høyst ${max} tegn.`,
  sendCancellation: "Be om kansellering",
  notReceived: "Ikke mottatt bestillingen?",
  reportFrom: "Du kan melde fra fra",
  reportOrder: "Meld fra om ikke mottatt …",
  sendReport: "Meld fra om ikke mottatt",
  back: "Tilbake",
  codeHeading: "Skriv inn koden fra e-posten",
  code: "Sekssifret kode",
  codeHint: "Vi sendte den til e-postadressen på bestillingen.",
  confirm: "Bekreft",
  newCode: "Send en ny kode",
  requestsHeading: "Dine henvendelser",
  noRequests: "Ingen henvendelser ennå.",
  submitted: "Sendt inn",
  status: "Status",
  resolution: "Utfall",
  resultHeading: "Henvendelsen din",
  errorHeading: "Noe trenger oppmerksomheten din",
  unreachable: "Vi fikk ikke kontakt med ordretjenesten. Prøv igjen om litt.",
  tryAgainIn: (seconds) => `Du kan prøve igjen om ${seconds} s.`,
  otherOrder: "Finn en annen bestilling",
  cancelled: "Kansellert",
  quantity: (count) => `× ${count}`,
  financial: {
    AUTHORIZED: "Autorisert", EXPIRED: "Utløpt", PAID: "Betalt", PARTIALLY_PAID: "Delvis betalt",
    PARTIALLY_REFUNDED: "Delvis refundert", PENDING: "Venter", REFUNDED: "Refundert",
    VOIDED: "Annullert", UNKNOWN: "Ukjent",
  },
  fulfillment: {
    FULFILLED: "Sendt", FULFILLMENT_NOT_REQUIRED: "Ingenting å sende", IN_PROGRESS: "Pakkes nå",
    ON_HOLD: "På vent", OPEN: "Ikke sendt ennå", PARTIALLY_FULFILLED: "Delvis sendt",
    PENDING_FULFILLMENT: "Venter på pakking", REQUEST_DECLINED: "Avslått", RESTOCKED: "Lagt tilbake på lager",
    SCHEDULED: "Planlagt", UNFULFILLED: "Ikke sendt ennå", UNKNOWN: "Ukjent",
  },
  returnStatus: {
    INSPECTION_COMPLETE: "Retur kontrollert", IN_PROGRESS: "Retur pågår", NO_RETURN: "Ingen retur",
    RETURNED: "Returnert", RETURN_FAILED: "Retur mislyktes", RETURN_REQUESTED: "Retur forespurt",
    UNKNOWN: "Ukjent",
  },
  shipment: {
    ATTEMPTED_DELIVERY: "Leveringsforsøk", CANCELED: "Kansellert", CARRIER_PICKED_UP: "Hentet av transportør",
    CONFIRMED: "Bekreftet", DELAYED: "Forsinket", DELIVERED: "Levert", FAILURE: "Levering mislyktes",
    FULFILLED: "Sendt", IN_TRANSIT: "Underveis", LABEL_PRINTED: "Etikett skrevet ut",
    LABEL_PURCHASED: "Etikett kjøpt", LABEL_VOIDED: "Etikett annullert", MARKED_AS_FULFILLED: "Sendt",
    NOT_DELIVERED: "Ikke levert", OUT_FOR_DELIVERY: "Ute for levering", PICKED_UP: "Hentet",
    READY_FOR_PICKUP: "Klar til henting", SUBMITTED: "Registrert", UNKNOWN: "Ukjent",
  },
  kind: { CANCELLATION: "Kansellering", NOT_RECEIVED: "Ikke mottatt" },
  requestStatus: {
    CANCELLED: "Kansellert", PROCESSING: "Behandles", PENDING_REVIEW: "Til vurdering",
    DECLINED: "Avslått", OPEN: "Åpen", RESOLVED: "Løst",
  },
  resolutions: {
    CANCELLED: "Bestillingen er kansellert", DECLINED: "Avslått", REFUNDED: "Refundert",
    RESHIPPED: "Sendt på nytt", DELIVERED: "Levert ifølge transportøren",
  },
  reasons: {
    ORDERED_BY_MISTAKE: "Jeg bestilte ved en feil", CHANGED_MIND: "Jeg har ombestemt meg",
    FOUND_CHEAPER: "Jeg fant det billigere et annet sted", DELIVERY_TOO_SLOW: "Leveringen tar for lang tid",
    WRONG_ITEM_OR_SIZE: "Feil vare eller størrelse", OTHER: "Noe annet",
  },
};

const da: Texts = {
  lookupHeading: "Find din ordre",
  orderNumber: "Ordrenummer",
  orderNumberHint: "Som i din ordrebekræftelse, f.eks. #1001",
  contact: "E-mail eller telefonnummer",
  contactHint: "Den, du bestilte med",
  find: "Find ordre",
  searching: "Henter din ordre …",
  orderHeading: (number) => `Ordre ${number}`,
  placed: "Bestilt",
  total: "I alt",
  items: "Varer",
  payment: "Betaling",
  fulfilment: "Forsendelse",
  returns: "Returnering",
  shipments: "Pakker",
  noShipments: "Intet er afsendt endnu.",
  carrier: "Fragtfirma",
  tracking: "Sporingsnummer",
  trackParcel: "Følg pakken",
  shipped: "Afsendt",
  estimate: "Forventet levering",
  delivered: "Leveret",
  shipmentStatus: "Status",
  cancellation: "Annullér ordren",
  cancelUntil: "Du kan annullere indtil",
  cancelOrder: "Annullér ordre …",
  reason: "Hvorfor vil du annullere?",
  chooseReason: "Vælg en grund",
  comment: "Kommentar (valgfri)",
  commentHint: (max) => `Højst ${max} tegn.`,
  sendCancellation: "Anmod om annullering",
  notReceived: "Har du ikke modtaget ordren?",
  reportFrom: "Du kan melde det fra",
  reportOrder: "Meld ikke modtaget …",
  sendReport: "Meld ikke modtaget",
  back: "Tilbage",
  codeHeading: "Indtast koden fra din e-mail",
  code: "Sekscifret kode",
  codeHint: "Vi sendte den til e-mailadressen på ordren.",
  confirm: "Bekræft",
  newCode: "Send en ny kode",
  requestsHeading: "Dine henvendelser",
  noRequests: "Ingen henvendelser endnu.",
  submitted: "Indsendt",
  status: "Status",
  resolution: "Udfald",
  resultHeading: "Din henvendelse",
  errorHeading: "Noget kræver din opmærksomhed",
  unreachable: "Vi kunne ikke få kontakt til ordretjenesten. Prøv igen om lidt.",
  tryAgainIn: (seconds) => `Du kan prøve igen om ${seconds} s.`,
  otherOrder: "Find en anden ordre",
  cancelled: "Annulleret",
  quantity: (count) => `× ${count}`,
  financial: {
    AUTHORIZED: "Godkendt", EXPIRED: "Udløbet", PAID: "Betalt", PARTIALLY_PAID: "Delvist betalt",
    PARTIALLY_REFUNDED: "Delvist refunderet", PENDING: "Afventer", REFUNDED: "Refunderet",
    VOIDED: "Annulleret", UNKNOWN: "Ukendt",
  },
  fulfillment: {
    FULFILLED: "Afsendt", FULFILLMENT_NOT_REQUIRED: "Intet at sende", IN_PROGRESS: "Pakkes nu",
    ON_HOLD: "I bero", OPEN: "Ikke afsendt endnu", PARTIALLY_FULFILLED: "Delvist afsendt",
    PENDING_FULFILLMENT: "Venter på pakning", REQUEST_DECLINED: "Afvist", RESTOCKED: "Lagt på lager igen",
    SCHEDULED: "Planlagt", UNFULFILLED: "Ikke afsendt endnu", UNKNOWN: "Ukendt",
  },
  returnStatus: {
    INSPECTION_COMPLETE: "Returnering kontrolleret", IN_PROGRESS: "Returnering i gang", NO_RETURN: "Ingen returnering",
    RETURNED: "Returneret", RETURN_FAILED: "Returnering mislykkedes", RETURN_REQUESTED: "Returnering anmodet",
    UNKNOWN: "Ukendt",
  },
  shipment: {
    ATTEMPTED_DELIVERY: "Leveringsforsøg", CANCELED: "Annulleret", CARRIER_PICKED_UP: "Afhentet af fragtfirma",
    CONFIRMED: "Bekræftet", DELAYED: "Forsinket", DELIVERED: "Leveret", FAILURE: "Levering mislykkedes",
    FULFILLED: "Afsendt", IN_TRANSIT: "Undervejs", LABEL_PRINTED: "Label udskrevet",
    LABEL_PURCHASED: "Label købt", LABEL_VOIDED: "Label annulleret", MARKED_AS_FULFILLED: "Afsendt",
    NOT_DELIVERED: "Ikke leveret", OUT_FOR_DELIVERY: "Ude til levering", PICKED_UP: "Afhentet",
    READY_FOR_PICKUP: "Klar til afhentning", SUBMITTED: "Registreret", UNKNOWN: "Ukendt",
  },
  kind: { CANCELLATION: "Annullering", NOT_RECEIVED: "Ikke modtaget" },
  requestStatus: {
    CANCELLED: "Annulleret", PROCESSING: "Behandles", PENDING_REVIEW: "Til vurdering",
    DECLINED: "Afvist", OPEN: "Åben", RESOLVED: "Løst",
  },
  resolutions: {
    CANCELLED: "Ordren er annulleret", DECLINED: "Afvist", REFUNDED: "Refunderet",
    RESHIPPED: "Sendt igen", DELIVERED: "Leveret ifølge fragtfirmaet",
  },
  reasons: {
    ORDERED_BY_MISTAKE: "Jeg bestilte ved en fejl", CHANGED_MIND: "Jeg har fortrudt",
    FOUND_CHEAPER: "Jeg fandt det billigere et andet sted", DELIVERY_TOO_SLOW: "Leveringen tager for lang tid",
    WRONG_ITEM_OR_SIZE: "Forkert vare eller størrelse", OTHER: "Noget andet",
  },
};

const nl: Texts = {
  lookupHeading: "Zoek je bestelling",
  orderNumber: "Bestelnummer",
  orderNumberHint: "Zoals in je orderbevestiging, bijv. #1001",
  contact: "E-mailadres of telefoonnummer",
  contactHint: "Waarmee je hebt besteld",
  find: "Bestelling zoeken",
  searching: "Je bestelling wordt opgezocht…",
  orderHeading: (number) => `Bestelling ${number}`,
  placed: "Geplaatst",
  total: "Totaal",
  items: "Artikelen",
  payment: "Betaling",
  fulfilment: "Verzending",
  returns: "Retour",
  shipments: "Pakketten",
  noShipments: "Er is nog niets verzonden.",
  carrier: "Vervoerder",
  tracking: "Trackingnummer",
  trackParcel: "Volg pakket",
  shipped: "Verzonden",
  estimate: "Verwachte bezorging",
  delivered: "Bezorgd",
  shipmentStatus: "Status",
  cancellation: "Bestelling annuleren",
  cancelUntil: "Je kunt annuleren tot",
  cancelOrder: "Bestelling annuleren…",
  reason: "Waarom wil je annuleren?",
  chooseReason: "Kies een reden",
  comment: "Opmerking (optioneel)",
  commentHint: (max) => `Hoogstens ${max} tekens.`,
  sendCancellation: "Annulering aanvragen",
  notReceived: "Bestelling niet ontvangen?",
  reportFrom: "Je kunt het melden vanaf",
  reportOrder: "Niet ontvangen melden…",
  sendReport: "Niet ontvangen melden",
  back: "Terug",
  codeHeading: "Voer de code uit je e-mail in",
  code: "Code van zes cijfers",
  codeHint: "We hebben hem gemaild naar het adres van de bestelling.",
  confirm: "Bevestigen",
  newCode: "Stuur een nieuwe code",
  requestsHeading: "Je verzoeken",
  noRequests: "Nog geen verzoeken.",
  submitted: "Ingediend",
  status: "Status",
  resolution: "Uitkomst",
  resultHeading: "Je verzoek",
  errorHeading: "Er is iets dat je aandacht nodig heeft",
  unreachable: "We konden de bestelservice niet bereiken. Probeer het zo nog eens.",
  tryAgainIn: (seconds) => `Je kunt het over ${seconds} s opnieuw proberen.`,
  otherOrder: "Een andere bestelling zoeken",
  cancelled: "Geannuleerd",
  quantity: (count) => `× ${count}`,
  financial: {
    AUTHORIZED: "Geautoriseerd", EXPIRED: "Verlopen", PAID: "Betaald", PARTIALLY_PAID: "Deels betaald",
    PARTIALLY_REFUNDED: "Deels terugbetaald", PENDING: "In afwachting", REFUNDED: "Terugbetaald",
    VOIDED: "Vervallen", UNKNOWN: "Onbekend",
  },
  fulfillment: {
    FULFILLED: "Verzonden", FULFILLMENT_NOT_REQUIRED: "Niets te verzenden", IN_PROGRESS: "Wordt ingepakt",
    ON_HOLD: "In de wacht", OPEN: "Nog niet verzonden", PARTIALLY_FULFILLED: "Deels verzonden",
    PENDING_FULFILLMENT: "Wacht op inpakken", REQUEST_DECLINED: "Afgewezen", RESTOCKED: "Terug op voorraad",
    SCHEDULED: "Gepland", UNFULFILLED: "Nog niet verzonden", UNKNOWN: "Onbekend",
  },
  returnStatus: {
    INSPECTION_COMPLETE: "Retour gecontroleerd", IN_PROGRESS: "Retour bezig", NO_RETURN: "Geen retour",
    RETURNED: "Geretourneerd", RETURN_FAILED: "Retour mislukt", RETURN_REQUESTED: "Retour aangevraagd",
    UNKNOWN: "Onbekend",
  },
  shipment: {
    ATTEMPTED_DELIVERY: "Bezorgpoging gedaan", CANCELED: "Geannuleerd", CARRIER_PICKED_UP: "Opgehaald door vervoerder",
    CONFIRMED: "Bevestigd", DELAYED: "Vertraagd", DELIVERED: "Bezorgd", FAILURE: "Bezorging mislukt",
    FULFILLED: "Verzonden", IN_TRANSIT: "Onderweg", LABEL_PRINTED: "Label geprint",
    LABEL_PURCHASED: "Label gekocht", LABEL_VOIDED: "Label vervallen", MARKED_AS_FULFILLED: "Verzonden",
    NOT_DELIVERED: "Niet bezorgd", OUT_FOR_DELIVERY: "Onderweg naar jou", PICKED_UP: "Opgehaald",
    READY_FOR_PICKUP: "Klaar om op te halen", SUBMITTED: "Aangemeld", UNKNOWN: "Onbekend",
  },
  kind: { CANCELLATION: "Annulering", NOT_RECEIVED: "Niet ontvangen" },
  requestStatus: {
    CANCELLED: "Geannuleerd", PROCESSING: "In behandeling", PENDING_REVIEW: "Wordt beoordeeld",
    DECLINED: "Afgewezen", OPEN: "Open", RESOLVED: "Afgehandeld",
  },
  resolutions: {
    CANCELLED: "Bestelling geannuleerd", DECLINED: "Afgewezen", REFUNDED: "Terugbetaald",
    RESHIPPED: "Opnieuw verzonden", DELIVERED: "Bezorgd volgens de vervoerder",
  },
  reasons: {
    ORDERED_BY_MISTAKE: "Per ongeluk besteld", CHANGED_MIND: "Ik heb me bedacht",
    FOUND_CHEAPER: "Elders goedkoper gevonden", DELIVERY_TOO_SLOW: "De levering duurt te lang",
    WRONG_ITEM_OR_SIZE: "Verkeerd artikel of verkeerde maat", OTHER: "Iets anders",
  },
};

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
