// A small element builder: text goes in as text nodes, never as HTML, so nothing the server
// or the customer wrote can become markup.
type Child = Node | string | null | undefined | false;
type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h(tag: string, props: Props = {}, ...children: (Child | Child[])[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" && "value" in element) {
      (element as HTMLInputElement).value = String(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

// The browser's zone, named: the server writes its dates in the shop's zone ("… 5:16 PM UTC"),
// so a time without its zone could seem to contradict it. (dateStyle/timeStyle cannot be
// combined with timeZoneName, hence the parts.)
const DATE_TIME: Intl.DateTimeFormatOptions = {
  year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short",
};

/** A `<time>` with the machine-readable instant and the customer's local rendering, zone named. */
export function time(iso: string, language: string, part: string): HTMLElement {
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime()) ? iso : new Intl.DateTimeFormat(language, DATE_TIME).format(date);
  return h("time", { datetime: iso, part }, text);
}

export function money(amount: string, currency: string, language: string): string {
  try {
    return new Intl.NumberFormat(language, { style: "currency", currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}
