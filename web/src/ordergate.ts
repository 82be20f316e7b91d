// The package's entry: importing it defines <ordergate-order> once.
import { OrdergateOrderElement } from "./element";

export { OrdergateOrderElement };
export type { Order } from "./element";
export type { Language } from "./texts";

if (!customElements.get("ordergate-order")) {
  customElements.define("ordergate-order", OrdergateOrderElement);
}

declare global {
  interface HTMLElementTagNameMap {
    "ordergate-order": OrdergateOrderElement;
  }
}
