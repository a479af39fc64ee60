// The console's shell: sign-in, the hash router (#/groups/...), the main
// navigation and the pollers of the screen on show.
import { api, session, APIError, paths } from './api.js';
import { h, clear, field, input, form, value, link, toast } from './ui.js';
import * as groups from './views/groups.js';
import * as apps from './views/apps.js';
import * as endpoints from './views/endpoints.js';
import * as events from './views/events.js';
import * as deliveries from './views/deliveries.js';
import * as keys from './views/keys.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signout = document.getElementById('signout');

// A route is a pattern of the hash path and its view; a view renders into
// ctx.main and may register pollers that stop when the route changes.
const routes = [
  [/^\/signin$/, signIn],
  [/^\/groups$/, groups.list],
  [/^\/groups\/([^/]+)$/, groups.settings],
  [/^\/groups\/([^/]+)\/apps$/, apps.list],
  [/^\/groups\/([^/]+)\/apps\/([^/]+)$/, apps.detail],
  [/^\/groups\/([^/]+)\/apps\/([^/]+)\/endpoints\/new$/, endpoints.create],
  [/^\/groups\/([^/]+)\/apps\/([^/]+)\/endpoints\/([^/]+)$/, endpoints.edit],
  [/^\/groups\/([^/]+)\/events$/, events.list],
  [/^\/groups\/([^/]+)\/events\/([^/]+)$/, events.detail],
  [/^\/groups\/([^/]+)\/deliveries$/, deliveries.list],
  [/^\/groups\/([^/]+)\/deliveries\/([^/]+)$/, deliveries.detail],
  [/^\/groups\/([^/]+)\/keys$/, keys.list],
];

let generation = 0;
let leaving = [];

// home is where a signed-in user starts.
export function home() {
  const p = session.portal;
  if (session.role === 'portal' && p) return `#/groups/${p.group_id}/apps/${p.app_id}`;
  if (session.role === 'group') return `#/groups/${session.group}/apps`;
  return '#/groups';
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

async function render() {
  for (const stop of leaving) stop();
  leaving = [];
  const gen = ++generation;
  const { path, query } = parseHash();
  if (!session.signedIn && path !== '/signin') {
    location.replace('#/signin');
    return;
  }
  if (session.signedIn && (path === '/' || path === '/signin')) {
    location.replace(home());
    return;
  }
  renderChrome(path);
  for (const [pattern, view] of routes) {
    const m = path.match(pattern);
    if (!m) continue;
    // Each screen renders into a box of its own, so a screen left while it
    // still loads writes into a detached box, never into its successor.
    const box = h('div', { class: 'screen' });
    clear(main).append(box);
    const ctx = {
      params: m.slice(1).map(decodeURIComponent),
      query,
      main: box,
      // current reports whether this screen is still the one on show.
      current: () => gen === generation,
      poll: (fn, ms = 1500) => poll(gen, fn, ms),
      onLeave: (fn) => leaving.push(fn),
    };
    try {
      await view(ctx);
    } catch (err) {
      if (gen === generation) showError(box, err);
    }
    if (gen === generation) focusHeading();
    return;
  }
  clear(main).append(h('h1', null, 'Not found'), h('p', null, link(home(), 'Back to the start')));
}

// poll runs fn every ms while its screen is on show and the tab visible.
function poll(gen, fn, ms) {
  let timer;
  let stopped = false;
  const tick = async () => {
    if (stopped || gen !== generation) return;
    if (!document.hidden) {
      try { await fn(); } catch { /* the next tick tries again */ }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  leaving.push(() => { stopped = true; clearTimeout(timer); });
}

function showError(box, err) {
  const text = err instanceof APIError && (err.status === 403 || err.status === 404)
    ? `${err.message} (HTTP ${err.status}): this key cannot see it or it does not exist.`
    : err.message;
  box.append(h('p', { class: 'error', role: 'alert' }, text));
  if (err instanceof APIError && err.status === 401) {
    box.append(h('p', null, 'The key or link is no longer accepted. ', link('#/signin', 'Sign in again')));
  }
}

// focusHeading moves focus to the new screen's heading, so keyboard and
// screen-reader users land on what changed.
function focusHeading() {
  const h1 = main.querySelector('h1');
  if (h1 && !main.contains(document.activeElement)) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  }
}

function renderChrome(path) {
  clear(nav);
  clear(who);
  signout.hidden = !session.signedIn;
  if (!session.signedIn) return;
  const items = [];
  const p = session.portal;
  if (session.role === 'portal' && p) {
    const g = p.group_id, a = p.app_id;
    items.push(['Endpoints', `#/groups/${g}/apps/${a}`], ['Events', `#/groups/${g}/events`], ['Deliveries', `#/groups/${g}/deliveries`]);
    who.textContent = `Portal · ${p.app_name || p.app_id}`;
  } else {
    const m = path.match(/^\/groups\/([^/]+)/);
    const g = m ? decodeURIComponent(m[1]) : session.role === 'group' ? session.group : '';
    if (session.role === 'admin') items.push(['Groups', '#/groups']);
    if (g) {
      items.push(['Applications', `#/groups/${g}/apps`], ['Events', `#/groups/${g}/events`],
        ['Deliveries', `#/groups/${g}/deliveries`], ['API keys', `#/groups/${g}/keys`], ['Settings', `#/groups/${g}`]);
    }
    who.textContent = session.role === 'admin' ? 'Admin key' : `Group key · ${session.group}`;
  }
  const ul = h('ul', null, items.map(([text, href]) => {
    // Settings and Endpoints are prefixes of other screens' paths.
    const prefix = text !== 'Groups' && text !== 'Settings' && text !== 'Endpoints';
    const here = '#' + path === href || (prefix && ('#' + path).startsWith(href + '/'));
    return h('li', null, link(href, text, here ? { 'aria-current': 'page' } : {}));
  }));
  nav.append(ul);
}

// signIn tells an admin key from a group key by what it may read: only an
// admin key reads every group's audit log. A group key lists its own group,
// so its group ID need not be typed; when one is, the key is checked
// against it.
async function signIn(ctx) {
  const keyInput = input('key', '', { type: 'password', required: true, autocomplete: 'current-password' });
  const groupInput = input('group', '', {});
  ctx.main.append(
    h('h1', null, 'Sign in'),
    h('p', null, 'Use an API key: the admin key or a group key. The key stays in this tab only.'),
    form('Sign in', [
      field('API key', keyInput),
      field('Group ID', groupInput, 'Optional: a group key finds its own group.'),
    ], 'Sign in', async (f) => {
      const key = value(f, 'key');
      let group = value(f, 'group');
      if (!key) throw new Error('API key is required');
      try {
        await api('GET', '/admin/audit_log', { query: { per_page: 1 }, key });
        session.signIn(key, 'admin', '');
        location.hash = group ? `#/groups/${group}/apps` : '#/groups';
        return;
      } catch (err) {
        if (!(err instanceof APIError) || err.status !== 403) {
          throw err.status === 401 ? new Error('This key is not accepted.') : err;
        }
      }
      if (group) {
        await api('GET', paths.group(group), { key });
      } else {
        const own = await api('GET', '/groups', { query: { per_page: 1 }, key });
        group = own.content?.[0]?.uid;
        if (!group) throw new Error('This key names no group: enter its group ID.');
      }
      session.signIn(key, 'group', group);
      location.hash = `#/groups/${group}/apps`;
    }),
  );
  keyInput.focus();
}

// startPortal signs in with the portal link's token and removes it from the
// address bar and history.
async function startPortal() {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (!token) return session.role === 'portal';
  history.replaceState(null, '', '/ui/portal' + (location.hash || ''));
  session.signOut();
  try {
    const p = await api('GET', '/portal/session', { key: token });
    session.signIn(token, 'portal', p.group_id, p);
    if (!location.hash || location.hash === '#/' || location.hash === '#/signin') location.replace(home());
    return true;
  } catch (err) {
    clear(main).append(h('h1', null, 'Portal'), h('p', { class: 'error', role: 'alert' },
      err.status === 401 || err.status === 403 ? 'This portal link has expired or was revoked.' : err.message));
    return false;
  }
}

signout.addEventListener('click', () => {
  const wasPortal = session.role === 'portal';
  session.signOut();
  toast('Signed out');
  if (wasPortal) {
    clear(main).append(h('h1', null, 'Signed out'), h('p', null, 'Open the portal link again to come back.'));
    renderChrome('');
    return;
  }
  location.hash = '#/signin';
});

// A failure no screen caught is shown rather than lost, and kept in
// window.consoleErrors for whoever debugs the page.
function reportUncaught(message) {
  (window.consoleErrors ||= []).push(message);
  toast('Something went wrong: ' + message, true);
}
window.addEventListener('error', (ev) => reportUncaught(ev.message));
window.addEventListener('unhandledrejection', (ev) => reportUncaught(ev.reason?.message || String(ev.reason)));

async function boot() {
  if (location.pathname === '/ui/portal') {
    if (!(await startPortal())) {
      if (!session.signedIn) return;
    }
  }
  window.addEventListener('hashchange', render);
  render();
}

boot();
