/**
 * The only way the web app builds DOM: elements with properties, and children
 * that are nodes or strings. Strings always become text nodes, so user text can
 * never turn into markup; nothing in the app assigns innerHTML.
 */

export type Child = Node | string | null | undefined | false

export interface Props {
  className?: string
  /** stable hook for tests: `data-testid` */
  testid?: string
  title?: string
  /** other attributes (data-*, aria-*, type, ...) */
  attrs?: Record<string, string>
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void }
}

export function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (props.className != null) el.className = props.className
  if (props.testid != null) el.dataset.testid = props.testid
  if (props.title != null) el.title = props.title
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v)
  for (const [type, fn] of Object.entries(props.on ?? {})) el.addEventListener(type, fn as EventListener)
  append(el, children)
  return el
}

export function append (el: Element, children: Child[]): void {
  for (const c of children) {
    if (c == null || c === false) continue
    el.append(typeof c === 'string' ? document.createTextNode(c) : c)
  }
}

/** replace every child of `el` */
export function replaceChildren (el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/**
 * Make `el`'s children exactly `children`, in order, moving only what is out of place: rows kept
 * from the last draw stay where they are, so a change in a long list costs the rows it touches.
 */
export function placeChildren (el: Element, children: readonly Element[]): void {
  // what goes, first: a row gone from the top then moves nothing below it
  const wanted = new Set(children)
  for (const child of [...el.children]) if (!wanted.has(child)) child.remove()
  for (let i = 0; i < children.length; i++) {
    const want = children[i] as Element
    const at = el.children[i]
    if (at !== want) el.insertBefore(want, at ?? null)
  }
}

/** the element with `data-testid=id`; the skeleton in index.html has all of them */
export function byTestId<T extends HTMLElement = HTMLElement> (id: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`)
  if (el == null) throw new Error(`index.html has no element with data-testid="${id}"`)
  return el
}
