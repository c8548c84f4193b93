// Shared by sdfleet's pages: the REST API with the CSRF token, the socket, formatting.
/* exported sdfleet */
window.sdfleet = (() => {
  let csrf = null;
  const api = async (method, path, body) => {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf) headers['x-sdfleet-csrf'] = csrf;
    const res = await fetch(`/_sdfleet/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(data.error?.message ?? `HTTP ${res.status}`), { status: res.status, code: data.error?.code });
    return data;
  };
  const me = async () => {
    const m = await api('GET', '/me');
    csrf = m.csrfToken;
    return m;
  };
  // The signed-in user, or back to the start page (sign-in) and null.
  const signedIn = async () => {
    try {
      return await me();
    } catch {
      location.replace('/_sdfleet/');
      return null;
    }
  };
  const socket = () => window.io({ path: '/_sdfleet/socket.io' });
  const duration = (seconds) => {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}:${String(s % 60).padStart(2, '0')}`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  };
  const ago = (iso) => duration((Date.now() - Date.parse(iso)) / 1000);
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c);
    return e;
  };
  return { api, me, signedIn, socket, duration, ago, el };
})();
