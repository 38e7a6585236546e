/**
 * Put `id` into the sorted list `order` (`on`), or take it out, by binary search; the order is the
 * one `Array.prototype.sort` gives strings (UTF-16 code units). Nothing happens when `id` is already
 * in (`on`) or already out.
 */
export function placeSorted (order: string[], id: string, on: boolean): void {
  let lo = 0
  let hi = order.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((order[mid] as string) < id) lo = mid + 1
    else hi = mid
  }
  const found = order[lo] === id
  if (on && !found) order.splice(lo, 0, id)
  else if (!on && found) order.splice(lo, 1)
}
