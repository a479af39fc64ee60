// Applications: the searchable list, and one application's screen with its
// endpoints and, for operators, its portal links.
import { api, session, paths, APIError } from '../api.js';
import { h, clear, field, input, checkbox, select, form, value, checked, list as csv, link, toast, table, when, section, action, copy, confirmed, dl, Pager, badge } from '../ui.js';

export async function list(ctx) {
  const [gid] = ctx.params;
  let q = ctx.query.get('q') || '';
  const results = h('div', { 'aria-live': 'polite' });
  const pager = new Pager(() => load());
  const load = async () => {
    const data = await api('GET', paths.apps(gid), { query: { q, per_page: 20, next_page_cursor: pager.cursor } });
    pager.update(data.pagination);
    clear(results).append(
      table('Applications', ['Name', 'ID', 'State', 'Created'], data.content.map((a) => [
        link(`#/groups/${gid}/apps/${a.uid}`, a.name), h('code', null, a.uid),
        a.is_disabled ? badge('Disabled') : badge('Enabled'), when(a.created_at),
      ]), q ? 'No application name contains that text.' : 'No applications yet.'),
      pager.controls());
  };
  ctx.main.append(
    h('h1', null, 'Applications'),
    form('Search applications', [field('Name contains', input('q', q, { type: 'search' }))], 'Search', async (f) => {
      q = value(f, 'q');
      pager.reset();
      await load();
    }),
    results,
    section('Create an application',
      form('Create an application', [
        field('Name', input('name', '', { required: true })),
        field('Support email', input('support_email', '', { type: 'email' })),
        field('Owner ID', input('owner_id', ''), 'Groups applications for fan-out events.'),
      ], 'Create application', async (f) => {
        const a = await api('POST', paths.apps(gid), { body: { name: value(f, 'name'), support_email: value(f, 'support_email') || undefined, owner_id: value(f, 'owner_id') || undefined } });
        toast(`Application ${a.name} created`);
        location.hash = `#/groups/${gid}/apps/${a.uid}`;
      })),
  );
  await load();
}

export async function detail(ctx) {
  const [gid, aid] = ctx.params;
  const portal = session.role === 'portal' ? session.portal : null;
  const canManage = !portal || portal.can_manage_endpoints;
  const app = await api('GET', paths.app(gid, aid));
  ctx.main.append(
    h('h1', null, portal ? `${app.name}: endpoints` : `Application ${app.name}`),
    dl([['ID', h('code', null, app.uid)], ['Created', when(app.created_at)],
      ['Activity', h('span', null, link(`#/groups/${gid}/events?app_id=${aid}`, 'Events'), ' · ', link(`#/groups/${gid}/deliveries?app_id=${aid}`, 'Deliveries'))]]),
  );
  const endpoints = h('div', { 'aria-live': 'polite' });
  const pager = new Pager(() => loadEndpoints());
  const loadEndpoints = async () => {
    const data = await api('GET', paths.endpoints(gid, aid), { query: { per_page: 20, next_page_cursor: pager.cursor } });
    pager.update(data.pagination);
    clear(endpoints).append(
      table('Endpoints', ['URL', 'Status', 'Event types', 'Actions'], data.content.map((e) => [
        link(`#/groups/${gid}/apps/${aid}/endpoints/${e.uid}`, e.url), badge(e.status), (e.events || []).join(', ') || '*',
        canManage ? action(e.status === 'active' ? 'Disable' : 'Enable', async () => {
          await api('PUT', paths.endpoint(gid, aid, e.uid), { body: { status: e.status === 'active' ? 'inactive' : 'active' } });
          toast(`Endpoint ${e.status === 'active' ? 'disabled' : 'enabled'}`);
          await loadEndpoints();
        }, { 'aria-label': `${e.status === 'active' ? 'Disable' : 'Enable'} ${e.url}` }) : '',
      ]), 'No endpoints yet.'),
      pager.controls());
  };
  ctx.main.append(section('Endpoints',
    canManage ? h('p', null, link(`#/groups/${gid}/apps/${aid}/endpoints/new`, 'New endpoint', { class: 'button' })) : null,
    endpoints));
  await loadEndpoints();
  if (portal) return;

  ctx.main.append(section('Edit the application',
    form('Edit the application', [
      field('Name', input('name', app.name)),
      field('Support email', input('support_email', app.support_email, { type: 'email' })),
      field('Owner ID', input('owner_id', app.owner_id)),
      checkbox('Disabled (new events are held back)', 'is_disabled', app.is_disabled),
    ], 'Save application', async (f) => {
      await api('PUT', paths.app(gid, aid), { body: { name: value(f, 'name'), support_email: value(f, 'support_email'), owner_id: value(f, 'owner_id'), is_disabled: checked(f, 'is_disabled') } });
      toast('Application saved');
    }, [action('Delete application', async () => {
      if (!confirmed(`Delete application ${app.name} and its endpoints?`)) return;
      await api('DELETE', paths.app(gid, aid));
      toast('Application deleted');
      location.hash = `#/groups/${gid}/apps`;
    }, { class: 'danger' })])));
  ctx.main.append(portalLinks(gid, aid));
}

// portalLinks lets an operator hand one application's owner a portal link.
function portalLinks(gid, aid) {
  const listBox = h('div', { 'aria-live': 'polite' });
  const created = h('div');
  const load = async () => {
    let data;
    try {
      data = await api('GET', paths.portalLinks(gid, aid));
    } catch (err) {
      clear(listBox).append(h('p', { class: 'empty' }, err instanceof APIError && err.status === 404 ? 'This server has no portal links.' : err.message));
      return;
    }
    const rows = Array.isArray(data) ? data : data.content || [];
    clear(listBox).append(table('Portal links', ['ID', 'Manages endpoints', 'Embeddable in', 'Expires', 'Actions'], rows.map((l) => [
      h('code', null, l.uid), l.can_manage_endpoints ? 'Yes' : 'No', (l.frame_ancestors || []).join(', ') || 'this console only', when(l.expires_at),
      action('Revoke', async () => {
        if (!confirmed('Revoke this portal link? Whoever holds it loses access.')) return;
        await api('DELETE', `${paths.portalLinks(gid, aid)}/${encodeURIComponent(l.uid)}`);
        toast('Portal link revoked');
        await load();
      }, { 'aria-label': `Revoke portal link ${l.uid}` }),
    ]), 'No portal links.'));
  };
  const s = section('Portal links',
    h('p', null, 'A portal link opens this application alone in the console, for its owner.'),
    form('Create a portal link', [
      field('Expires in', select('expires_in', [['1h', '1 hour'], ['24h', '24 hours'], ['168h', '7 days'], ['720h', '30 days']], '24h')),
      checkbox('Can manage endpoints', 'can_manage_endpoints', true),
      field('Sites that may embed it', input('frame_ancestors', ''), 'Comma-separated origins, e.g. https://app.example.com; empty allows only this console.'),
    ], 'Create portal link', async (f) => {
      const body = { expires_in: value(f, 'expires_in'), can_manage_endpoints: checked(f, 'can_manage_endpoints') };
      const sites = csv(f, 'frame_ancestors');
      if (sites.length) body.frame_ancestors = sites;
      const l = await api('POST', paths.portalLinks(gid, aid), { body });
      const url = new URL(l.url, location.origin).href;
      clear(created).append(h('div', { class: 'once', role: 'group', 'aria-label': 'New portal link' },
        h('p', null, 'The link is shown once. Copy it now:'),
        h('output', { class: 'secret', 'data-portal-url': url }, url), ' ',
        action('Copy link', () => copy(url))));
      await load();
    }),
    created, listBox);
  load();
  return s;
}
