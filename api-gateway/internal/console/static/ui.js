// Small DOM helpers: every screen builds its elements with h() so that text
// from the server only ever becomes text nodes, never markup.

let uid = 0;
export const nextID = (prefix) => `${prefix}-${++uid}`;

const properties = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'indeterminate']);

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (properties.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

export function append(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export function clear(el) { el.replaceChildren(); return el; }

// field is a labelled control: label, control and an optional hint the
// control is described by.
export function field(label, control, hint) {
  control.id ||= nextID('f');
  const kids = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = nextID('hint');
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, kids);
}

export function input(name, value, attrs = {}) {
  return h('input', { name, value: value ?? '', type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

export function checkbox(label, name, checked, hint) {
  const box = h('input', { type: 'checkbox', name, checked: !!checked, id: nextID('c') });
  const kids = [box, h('label', { for: box.id }, label)];
  if (hint) kids.push(h('small', { class: 'hint' }, hint));
  return h('div', { class: 'field check' }, kids);
}

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: v === value }, text);
  }));
}

// form builds a form whose submit runs onSubmit(form); errors thrown show
// in the form's alert line, and the submit button is disabled meanwhile.
export function form(label, kids, submitText, onSubmit, extraButtons = []) {
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, submitText);
  const f = h('form', { 'aria-label': label, novalidate: true }, kids, error, h('div', { class: 'actions' }, submit, extraButtons));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await onSubmit(f);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  return f;
}

// value reads a named control of a form; ints and lists parse it.
export const value = (f, name) => (f.elements[name]?.value ?? '').trim();
export const checked = (f, name) => !!f.elements[name]?.checked;
export function int(f, name, label) {
  const v = value(f, name);
  if (v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw new Error(`${label} must be a whole number`);
  return Number(v);
}
export function list(f, name) {
  const v = value(f, name);
  return v === '' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
}

export function button(text, onClick, attrs = {}) {
  return h('button', { type: 'button', onclick: onClick, ...attrs }, text);
}

// action is a button whose async onClick is reported: failures as a toast,
// and the button stays disabled while it runs.
export function action(text, onClick, attrs = {}) {
  const b = button(text, async () => {
    b.disabled = true;
    try { await onClick(); } catch (err) { toast(err.message, true); } finally { b.disabled = false; }
  }, attrs);
  return b;
}

export function link(href, text, attrs = {}) { return h('a', { href, ...attrs }, text); }

let toastTimer;
export function toast(message, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = 'toast show' + (isError ? ' bad' : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = 'toast'; }, 5000);
}

// table renders rows under a caption; it scrolls sideways inside its own
// box on narrow screens rather than widening the page.
export function table(caption, headers, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', null,
      h('caption', { class: 'sr-only' }, caption),
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => h('tr', r.attrs || null, (r.cells || r).map((c) => h('td', null, c)))))));
}

export function badge(status) {
  return h('span', { class: 'badge ' + String(status).toLowerCase() }, status);
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

export function pretty(raw) {
  try { return JSON.stringify(typeof raw === 'string' ? JSON.parse(raw) : raw, null, 2); } catch { return String(raw); }
}

export function code(text) { return h('code', null, text); }

export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied');
  } catch {
    toast('Copy failed: select the text and copy it', true);
  }
}

// confirmed asks before a destructive action.
export function confirmed(question) { return window.confirm(question); }

// pager keeps the cursors of the pages seen, so Previous goes back.
export class Pager {
  constructor(onChange) { this.cursors = ['']; this.next = ''; this.onChange = onChange; }
  get cursor() { return this.cursors[this.cursors.length - 1]; }
  get first() { return this.cursors.length === 1; }
  reset() { this.cursors = ['']; }
  update(pagination) { this.next = pagination?.has_next_page ? pagination.next_page_cursor : ''; }
  controls() {
    return h('nav', { class: 'pager', 'aria-label': 'Pages' },
      button('Previous page', () => { this.cursors.pop(); this.onChange(); }, { disabled: this.first }),
      h('span', null, `Page ${this.cursors.length}`),
      button('Next page', () => { this.cursors.push(this.next); this.onChange(); }, { disabled: !this.next }));
  }
}

export function section(title, ...kids) {
  const id = nextID('s');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), kids);
}

export function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}
