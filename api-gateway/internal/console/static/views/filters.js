// Filters live in the hash's query (#/groups/g/deliveries?status=Failure),
// so a filtered list is a link that can be shared and reloaded.
import { session } from '../api.js';
import { h, field, input, form, value } from '../ui.js';

// portalApp is the application a portal session is limited to.
export function portalApp() {
  return session.role === 'portal' && session.portal ? session.portal.app_id : '';
}

// localValue shows an RFC 3339 time in a datetime-local control.
function localValue(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function isoValue(f, name) {
  const v = value(f, name);
  if (!v) return '';
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new Error(`${name === 'start_date' ? 'From' : 'To'} is not a date and time`);
  return d.toISOString();
}

// filterForm renders the text filters named in fields ([name, label]) and
// the time range, and on submit moves to base with them in the query.
export function filterForm(label, base, query, fields, extra = [], readExtra = () => ({})) {
  const forced = portalApp();
  const kids = fields.filter(([name]) => !(forced && name === 'app_id'))
    .map(([name, text, hint]) => field(text, input(name, query.get(name) || ''), hint));
  kids.push(
    field('From', input('start_date', localValue(query.get('start_date')), { type: 'datetime-local' })),
    field('To', input('end_date', localValue(query.get('end_date')), { type: 'datetime-local' })),
    ...extra);
  const f = form(label, [h('div', { class: 'filters' }, kids)], 'Apply filters', async (f) => {
    const q = new URLSearchParams();
    for (const [name] of fields) if (value(f, name)) q.set(name, value(f, name));
    for (const name of ['start_date', 'end_date']) { const v = isoValue(f, name); if (v) q.set(name, v); }
    for (const [k, v] of Object.entries(readExtra(f))) for (const x of [].concat(v)) q.append(k, x);
    location.hash = base + (q.toString() ? '?' + q : '');
  }, [h('a', { href: base, class: 'button secondary' }, 'Clear filters')]);
  // On a phone the filters start folded, unless some are set.
  const set = [...new Set(query.keys())].length;
  const open = set > 0 || window.matchMedia('(min-width: 700px)').matches;
  return h('details', { class: 'filterbox', open }, h('summary', null, set ? `Filters (${set} set)` : 'Filters'), f);
}

// apiQuery is the list query for the filters of the hash, with the portal's
// application always set.
export function apiQuery(query, names) {
  const out = {};
  for (const name of names) {
    const all = query.getAll(name);
    if (all.length > 1) out[name] = all; else if (all.length === 1) out[name] = all[0];
  }
  const forced = portalApp();
  if (forced) out.app_id = forced;
  return out;
}
