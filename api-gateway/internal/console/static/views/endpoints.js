// Endpoints: create, edit, enable or disable, rotate and reveal the secret,
// and send a test event.
import { api, session, paths, APIError } from '../api.js';
import { h, append, clear, field, input, form, value, int, list as csv, link, toast, section, action, button, copy, dl, badge, when } from '../ui.js';

function canManage() {
  const p = session.role === 'portal' ? session.portal : null;
  return !p || p.can_manage_endpoints;
}

function endpointFields(e = {}) {
  return [
    field('URL', input('url', e.url, { type: 'url', required: true, placeholder: 'https://example.com/webhooks' })),
    field('Description', input('description', e.description)),
    field('Event types', input('events', (e.events || ['*']).join(', ')), 'Comma-separated; * receives every type.'),
    field('Rate limit', input('rate_limit', e.rate_limit ?? '', { inputmode: 'numeric' }), 'Requests per rate limit window.'),
    field('Rate limit window', input('rate_limit_duration', e.rate_limit_duration ?? ''), 'A duration, e.g. 1m.'),
    field('Timeout', input('http_timeout', e.http_timeout ?? ''), 'A duration, e.g. 30s.'),
    headerRows(e.custom_headers),
  ];
}

// headerRows edits the endpoint's custom headers, one name and value a row.
function headerRows(headers = {}) {
  const rows = h('div', { class: 'header-rows' });
  const add = (name = '', val = '') => {
    const n = rows.children.length + 1;
    const row = h('div', { class: 'header-row', 'data-header-row': '' },
      input('header_name', name, { 'aria-label': `Header ${n} name`, placeholder: 'X-Api-Key' }),
      input('header_value', val, { 'aria-label': `Header ${n} value`, placeholder: 'value' }),
      button('Remove', () => row.remove(), { class: 'secondary', 'aria-label': `Remove header ${n}` }));
    rows.append(row);
    return row;
  };
  for (const [k, v] of Object.entries(headers || {}).sort(([a], [b]) => a.localeCompare(b))) add(k, v);
  return h('fieldset', { class: 'custom-headers' }, h('legend', null, 'Custom headers'),
    h('small', { class: 'hint' }, 'Sent on every attempt to this endpoint; an event\'s own header of the same name wins.'),
    rows, button('Add header', () => add().querySelector('input').focus(), { class: 'secondary' }));
}

// customHeaders reads the header rows; a row without a name is skipped.
function customHeaders(f) {
  const out = {};
  for (const row of f.querySelectorAll('[data-header-row]')) {
    const name = row.querySelector('[name=header_name]').value.trim();
    const val = row.querySelector('[name=header_value]').value;
    if (!name) continue;
    if (name in out) throw new Error(`Custom header ${name} is given twice`);
    out[name] = val;
  }
  return out;
}

function endpointBody(f) {
  const body = { url: value(f, 'url'), description: value(f, 'description'), events: csv(f, 'events'), custom_headers: customHeaders(f) };
  const rl = int(f, 'rate_limit', 'Rate limit');
  if (rl !== undefined) body.rate_limit = rl;
  if (value(f, 'rate_limit_duration')) body.rate_limit_duration = value(f, 'rate_limit_duration');
  if (value(f, 'http_timeout')) body.http_timeout = value(f, 'http_timeout');
  if (!body.url) throw new Error('URL is required');
  return body;
}

const back = (gid, aid) => h('p', null, link(`#/groups/${gid}/apps/${aid}`, '← Endpoints'));

export async function create(ctx) {
  const [gid, aid] = ctx.params;
  ctx.main.append(back(gid, aid), h('h1', null, 'New endpoint'));
  if (!canManage()) {
    ctx.main.append(h('p', null, 'This portal link cannot manage endpoints.'));
    return;
  }
  ctx.main.append(form('New endpoint', [
    ...endpointFields(),
    field('Secret', input('secret', '', { type: 'password' }), 'Leave empty to have one generated.'),
  ], 'Create endpoint', async (f) => {
    const body = endpointBody(f);
    if (value(f, 'secret')) body.secret = value(f, 'secret');
    const e = await api('POST', paths.endpoints(gid, aid), { body });
    toast('Endpoint created');
    location.hash = `#/groups/${gid}/apps/${aid}/endpoints/${e.uid}`;
  }));
}

export async function edit(ctx) {
  const [gid, aid, eid] = ctx.params;
  const manage = canManage();
  let e = await api('GET', paths.endpoint(gid, aid, eid));
  const summary = h('div');
  const showSummary = () => clear(summary).append(dl([
    ['ID', h('code', null, e.uid)], ['Status', badge(e.status)],
    ['Circuit', e.circuit ? `${e.circuit.state || '—'}` : '—'], ['Created', when(e.created_at)],
    ['Activity', link(`#/groups/${gid}/deliveries?endpoint_id=${eid}`, 'Deliveries to this endpoint')],
  ]));
  showSummary();
  ctx.main.append(back(gid, aid), h('h1', null, 'Endpoint'), summary);

  if (manage) {
    const toggle = action(e.status === 'active' ? 'Disable endpoint' : 'Enable endpoint', async () => {
      e = await api('PUT', paths.endpoint(gid, aid, eid), { body: { status: e.status === 'active' ? 'inactive' : 'active' } });
      toast(e.status === 'active' ? 'Endpoint enabled' : 'Endpoint disabled');
      toggle.textContent = e.status === 'active' ? 'Disable endpoint' : 'Enable endpoint';
      showSummary();
    }, { 'aria-pressed': String(e.status !== 'active') });
    ctx.main.append(h('p', null, toggle),
      section('Settings', form('Endpoint settings', endpointFields(e), 'Save endpoint', async (f) => {
        e = await api('PUT', paths.endpoint(gid, aid, eid), { body: endpointBody(f) });
        toast('Endpoint saved');
        showSummary();
      })));
  } else {
    ctx.main.append(dl([['URL', e.url], ['Event types', (e.events || []).join(', ')], ['Timeout', e.http_timeout], ['Rate limit', `${e.rate_limit} per ${e.rate_limit_duration}`],
      ['Custom headers', Object.keys(e.custom_headers || {}).sort().join(', ') || '—']]));
  }
  ctx.main.append(secretSection(gid, aid, eid, () => e, (next) => { e = next; }, manage));
  ctx.main.append(testSection(gid, aid, eid));
}

// secretSection shows the secret masked until revealed, and rotates it
// with the old one still signing for a while.
function secretSection(gid, aid, eid, get, set, manage) {
  const out = h('output', { class: 'secret', 'aria-label': 'Endpoint secret' });
  let shown = false;
  const show = () => { out.textContent = shown ? get().secret : '•'.repeat(16); };
  const reveal = action('Reveal secret', () => {
    shown = !shown;
    reveal.textContent = shown ? 'Hide secret' : 'Reveal secret';
    reveal.setAttribute('aria-pressed', String(shown));
    show();
  }, { 'aria-pressed': 'false' });
  show();
  const older = h('ul', { class: 'plain' });
  const showOlder = () => append(clear(older), (get().secrets || []).filter((s) => s.expires_at).map((s) =>
    h('li', null, 'A previous secret keeps signing until ', when(s.expires_at))));
  showOlder();
  const kids = [h('p', null, out, ' ', reveal, ' ', action('Copy secret', () => copy(get().secret))), older];
  if (manage) {
    kids.push(form('Rotate the secret', [
      field('New secret', input('secret', '', { type: 'password' }), 'Leave empty to have one generated.'),
      field('Old secret keeps signing for (hours)', input('hours', '24', { inputmode: 'numeric' })),
    ], 'Rotate secret', async (f) => {
      const hours = Number(value(f, 'hours'));
      if (!Number.isFinite(hours) || hours < 0) throw new Error('Hours must be a number, 0 or more');
      const body = { expiration: Math.round(hours * 3600) };
      if (value(f, 'secret')) body.secret = value(f, 'secret');
      set(await api('POST', `${paths.endpoint(gid, aid, eid)}/expire_secret`, { body }));
      f.reset();
      show();
      showOlder();
      toast('Secret rotated');
    }));
  }
  return section('Secret', kids);
}

function testSection(gid, aid, eid) {
  const result = h('div', { 'aria-live': 'polite' });
  return section('Send a test event',
    form('Send a test event', [
      field('Event type', input('event_type', ''), 'Empty sends the server\'s test type.'),
      field('Data (JSON)', h('textarea', { name: 'data', rows: '4', spellcheck: 'false' }), 'Empty sends a sample payload.'),
    ], 'Send test event', async (f) => {
      const body = {};
      if (value(f, 'event_type')) body.event_type = value(f, 'event_type');
      const raw = value(f, 'data');
      if (raw) {
        try { body.data = JSON.parse(raw); } catch (err) { throw new Error('Data is not valid JSON: ' + err.message); }
      }
      let out;
      try {
        out = await api('POST', `${paths.endpoint(gid, aid, eid)}/test`, { body });
      } catch (err) {
        if (err instanceof APIError && err.status === 404 && /no route/.test(err.message)) throw new Error('This server cannot send test events yet.');
        throw err;
      }
      clear(result).append(h('p', null, 'Test event sent: ',
        link(`#/groups/${gid}/events/${out.event_id}`, 'the event'), ' · ',
        link(`#/groups/${gid}/deliveries/${out.delivery_id}`, 'its delivery', { 'data-test-delivery': out.delivery_id })));
      toast('Test event sent');
    }),
    result);
}

