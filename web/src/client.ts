// The one way the component talks to ordergate: POST /graphql with the named operation from
// the generated documents, in the customer's language. Answers are data, never exceptions.
import DOCUMENT from "./operations.graphql";

export type Answer<T> =
  | { kind: "data"; data: T }
  | { kind: "rate-limited"; message: string; retryAfter: number }
  // No usable answer: `reached` tells a server's HTTP error (413, 415, 5xx, a masked bug)
  // from a network failure. Neither carries the server's text: it is English and technical.
  | { kind: "failed"; reached: boolean };

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message?: string; extensions?: { code?: string; retryAfter?: number } }[];
}

export async function send<T, V>(
  endpoint: string,
  operationName: string,
  variables: V,
  language: string,
): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        "accept-language": language,
      },
      body: JSON.stringify({ query: DOCUMENT, operationName, variables }),
    });
  } catch {
    return { kind: "failed", reached: false };
  }
  let body: GraphQLBody<T> | null = null;
  try {
    body = (await response.json()) as GraphQLBody<T>;
  } catch {
    body = null;
  }
  const first = body?.errors?.[0];
  if (response.status === 429 || first?.extensions?.code === "RATE_LIMITED") {
    const header = Number(response.headers.get("retry-after"));
    const retryAfter = first?.extensions?.retryAfter ?? (Number.isFinite(header) ? header : 30);
    return { kind: "rate-limited", message: first?.message ?? "", retryAfter: Math.max(1, retryAfter) };
  }
  if (response.ok && body?.data) return { kind: "data", data: body.data };
  // Outages, bugs and refusals before GraphQL (a body too large, a proxy's 502): their text is
  // the server's English, not the customer's language, so the component says its own sentence.
  return { kind: "failed", reached: true };
}

/** A fresh idempotency key for one customer action (kept across its code step). */
export function newKey(): string {
  const crypto = globalThis.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
