// The console's only way to the server: the public HTTP API under /api/v1,
// with the signed-in key as Bearer, exactly as curl would call it.

const store = window.sessionStorage;
const K = { key: 'convoy.key', group: 'convoy.group', role: 'convoy.role', portal: 'convoy.portal' };

export const session = {
  get key() { return store.getItem(K.key) || ''; },
  // role is admin, group (a group's key) or portal (a portal link's token).
  get role() { return store.getItem(K.role) || ''; },
  get group() { return store.getItem(K.group) || ''; },
  // portal is the portal session: {uid, group_id, app_id, app_name, can_manage_endpoints, expires_at}.
  get portal() {
    try { return JSON.parse(store.getItem(K.portal) || 'null'); } catch { return null; }
  },
  signIn(key, role, group, portal) {
    store.setItem(K.key, key);
    store.setItem(K.role, role);
    store.setItem(K.group, group || '');
    if (portal) store.setItem(K.portal, JSON.stringify(portal)); else store.removeItem(K.portal);
  },
  signOut() { for (const k of Object.values(K)) store.removeItem(k); },
  get signedIn() { return this.key !== '' && this.role !== ''; },
};

export class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// api calls the API and answers the envelope's data; a non-2xx answer
// throws an APIError with the server's message.
export async function api(method, path, { query, body, key } = {}) {
  const url = new URL('/api/v1' + path, location.origin);
  for (const [name, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(name, x));
    else url.searchParams.set(name, String(v));
  }
  const headers = { Authorization: 'Bearer ' + (key ?? session.key) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new APIError(0, 'The server could not be reached: ' + err.message);
  }
  let env = null;
  try { env = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new APIError(res.status, (env && env.message) || `HTTP ${res.status}`);
  return env ? env.data : null;
}

// Paths of a group's resources.
export const paths = {
  group: (g) => `/groups/${enc(g)}`,
  apps: (g) => `/groups/${enc(g)}/applications`,
  app: (g, a) => `/groups/${enc(g)}/applications/${enc(a)}`,
  endpoints: (g, a) => `/groups/${enc(g)}/applications/${enc(a)}/endpoints`,
  endpoint: (g, a, e) => `/groups/${enc(g)}/applications/${enc(a)}/endpoints/${enc(e)}`,
  portalLinks: (g, a) => `/groups/${enc(g)}/applications/${enc(a)}/portal_links`,
  events: (g) => `/groups/${enc(g)}/events`,
  deliveries: (g) => `/groups/${enc(g)}/eventdeliveries`,
  keys: (g) => `/groups/${enc(g)}/keys`,
};

export function enc(s) { return encodeURIComponent(s); }
