// Small DOM helpers the tabs share.

/** The element with this id (the page's markup has it). */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/**
 * The number in an `<input>`, checked.
 * @throws naming the field when it is not a number in [min, max] (or not an integer when `int`)
 */
export function numberField(id: string, what: string, { min = -Infinity, max = Infinity, int = false } = {}): number {
  const v = Number($<HTMLInputElement>(id).value);
  if (!Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw new Error(`${what} must be ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` and ≤ ${max}` : ''}, got '${$<HTMLInputElement>(id).value}'`);
  }
  return v;
}

/** Show a status line (an error in red). */
export function status(id: string, text: string, error = false): void {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** Let the page paint and handle clicks (Stop) between two steps of a long computation. */
export function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
