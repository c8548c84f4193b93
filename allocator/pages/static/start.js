/* global io */
// The start page: sign in, Start, then live state over socket.io until the session is
// ready, then into the WebUI at /. Plain script, no build step.
(() => {
  const $ = (id) => document.getElementById(id);
  const mode = document.body.dataset.mode;
  let csrf = null;
  const say = (text, error) => {
    $('message').textContent = text;
    $('message').className = error ? 'error' : '';
  };
  const api = async (method, path, body) => {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (csrf) headers['x-sdfleet-csrf'] = csrf;
    const res = await fetch(`/_sdfleet/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    const data = res.status === 204 ? {} : await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(data.error?.message ?? `HTTP ${res.status}`), { status: res.status });
    return data;
  };
  const show = (state) => {
    if (state.session && state.session.state === 'active') {
      say('Your instance is ready: opening it…');
      location.assign('/');
    } else if (state.session && state.session.state === 'releasing') {
      say('Your last session is ending; you can start again in a moment.');
    } else if (state.queue) {
      const eta = state.queue.eta == null ? 'soon' : state.queue.eta < 60 ? `about ${state.queue.eta} s` : `about ${Math.round(state.queue.eta / 60)} min`;
      say(`You are number ${state.queue.position} of ${state.queue.total} in the queue; estimated wait ${eta}.`);
    }
  };
  const signedIn = async () => {
    const me = await api('GET', '/me');
    csrf = me.csrfToken;
    $('signin').hidden = true;
    $('start').hidden = false;
    $('who').textContent = me.user.name;
    const { profiles } = await api('GET', '/profiles');
    $('profile').replaceChildren(...profiles.map((p) => {
      const o = document.createElement('option');
      o.value = p.name;
      o.textContent = `${p.title} — ${p.ready} free${p.waiting ? `, ${p.waiting} waiting` : ''}`;
      return o;
    }));
    const socket = io({ path: '/_sdfleet/socket.io' });
    socket.on('state', show);
    socket.on('instance-gone', (e) => say(`Your instance has ended: ${e.reason}. Press Start to get a new one.`, true));
    show(me);
  };
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/signin', { name: $('name').value });
      await signedIn();
    } catch (err) {
      say(err.message, true);
    }
  });
  $('signout').addEventListener('click', async () => {
    await api('POST', '/signout').catch(() => undefined);
    location.reload();
  });
  $('start-button').addEventListener('click', async () => {
    $('start-button').disabled = true;
    say('Asking for an instance…');
    try {
      const r = await api('POST', '/sessions', { profile: $('profile').value });
      show(r);
    } catch (err) {
      say(err.message, true);
    } finally {
      $('start-button').disabled = false;
    }
  });
  if ($('banner').textContent.trim()) $('banner').hidden = false;
  signedIn().catch((err) => {
    if (err.status === 401 && mode === 'dev') $('signin').hidden = false;
    else if (err.status === 401) say(`Sign-in is handled by ${mode}; reload the page after signing in.`, true);
    else say(err.message, true);
  });
})();
