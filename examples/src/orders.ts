// A tiny order book whose failures the demo reports.

export interface Order {
  id: string;
  items: { sku: string; quantity: number; price: number }[];
}

export class InventoryError extends Error {
  override readonly name = "InventoryError";
  readonly code = "E_OUT_OF_STOCK";
  constructor(readonly sku: string, options?: { cause?: unknown }) {
    super(`Not enough stock for ${sku}`, options);
  }
}

const stock = new Map<string, number>([
  ["book", 3],
  ["lamp", 0],
]);

function reserve(sku: string, quantity: number): void {
  const available = stock.get(sku) ?? 0;
  if (available < quantity) {
    const lookup = new RangeError(`stock lookup for ${sku} returned ${available}`);
    throw new InventoryError(sku, { cause: lookup });
  }
  stock.set(sku, available - quantity);
}

export function placeOrder(order: Order): number {
  let total = 0;
  for (const item of order.items) {
    reserve(item.sku, item.quantity);
    total += item.quantity * item.price;
  }
  return total;
}

export function chargeCard(order: Order, cents: number): never {
  const gateway = { name: "demo-gateway", retries: 0 };
  throw new TypeError(`card declined for order ${order.id} (${cents} cents via ${gateway.name})`);
}
