// The start page: sign in, choose a profile, Start; then live progress (queue place and
// ETA, allocating, connecting) until the session is ready, then into the session view.
// A user who already has a session goes straight back to it. What is free and who waits
// follows the `fleet` event (one broadcast to every page, so no page polls for it).
(() => {
  const { api, me, socket, duration, el } = window.sdfleet;
  const $ = (id) => document.getElementById(id);
  const mode = document.body.dataset.mode;
  let sock = null;
  let wanted = false;

  const say = (text, error = false) => {
    $('message').textContent = text;
    $('message').className = `status${error ? ' error' : ''}`;
  };
  const step = (name) => {
    $('steps').hidden = false;
    let passed = true;
    for (const li of $('steps').children) {
      if (li.dataset.step === name) {
        li.className = name === 'ready' ? 'done' : 'now';
        passed = false;
      } else li.className = passed ? 'done' : '';
    }
  };
  const busy = (on) => {
    $('start-button').disabled = on;
    for (const i of $('profiles').querySelectorAll('input')) i.disabled = on;
  };

  let entering = false;
  const enterSession = async () => {
    // The POST's answer and the socket's state both say "active": go once.
    if (entering) return;
    entering = true;
    step('connecting');
    say('Connecting to your instance…');
    // Wait until the instance answers through the proxy, then go.
    for (let i = 0; i < 100; i++) {
      const r = await fetch('/', { method: 'GET', headers: { accept: 'application/json' }, credentials: 'same-origin' }).catch(() => null);
      if (r && r.status < 500 && r.status !== 404) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    step('ready');
    location.assign('/_sdfleet/session');
  };

  const show = (state) => {
    const q = state.queue;
    const s = state.session;
    if (s && s.state === 'active') {
      $('queue-box').hidden = true;
      $('leave-button').hidden = true;
      if (wanted || state.fromLoad) void enterSession();
      return;
    }
    if (s && s.state === 'releasing') {
      say('Your last session is ending: its images are being saved. You can start again in a moment.');
      return;
    }
    if (q) {
      wanted = true;
      busy(true);
      step('queued');
      $('queue-box').hidden = false;
      $('leave-button').hidden = false;
      $('queue-position').textContent = q.position;
      $('queue-total').textContent = q.total;
      $('queue-eta').textContent = q.eta == null ? 'Waiting for capacity.' : q.eta <= 5 ? 'Any moment now.' : `Estimated wait: about ${duration(q.eta)}.`;
      say('Keep this page open to keep your place. You will be taken to your WebUI as soon as one is free.');
      return;
    }
    $('queue-box').hidden = true;
    $('leave-button').hidden = true;
    busy(false);
  };

  const freeText = (p) => `${p.ready} free now${p.starting ? `, ${p.starting} starting` : ''}${p.waiting ? `, ${p.waiting} waiting` : ''}`;
  const renderProfiles = (profiles) => {
    $('profiles').replaceChildren(...profiles.map((p, i) => el('label', { class: 'profile' },
      el('input', { type: 'radio', name: 'profile', value: p.name, checked: i === 0 }),
      el('span', {},
        el('span', { class: 'title' }, p.title), el('br'),
        p.description ? [el('span', { class: 'muted' }, p.description), el('br')] : null,
        el('span', { class: 'free', 'data-profile': p.name }, freeText(p))),
    )));
    $('profiles-set').hidden = profiles.length < 2;
  };

  // The `fleet` event: "3 instances free · 1 starting · 2 waiting", and the same per profile.
  const showFleet = (f) => {
    const parts = [f.ready === 0 ? 'No instance free' : `${f.ready} instance${f.ready === 1 ? '' : 's'} free`];
    if (f.starting) parts.push(`${f.starting} starting`);
    if (f.waiting) parts.push(`${f.waiting} waiting`);
    $('fleet-line').textContent = parts.join(' · ');
    $('fleet-line').hidden = false;
    for (const p of f.profiles ?? []) {
      const span = $('profiles').querySelector(`.free[data-profile="${CSS.escape(p.name)}"]`);
      if (span) span.textContent = freeText(p);
    }
  };

  const signedIn = async () => {
    const m = await me();
    const { profiles } = await api('GET', '/profiles');
    // The start view appears whole: never with an empty list of profiles for a moment.
    renderProfiles(profiles);
    $('signin').hidden = true;
    $('start').hidden = false;
    $('who').textContent = m.user.name;
    $('admin-link').hidden = !m.user.admin;
    sock = socket();
    sock.on('state', show);
    sock.on('fleet', showFleet);
    sock.on('instance-gone', (e) => {
      busy(false);
      say(`Your instance has ended: ${e.reason}. Press Start to get a new one.`, true);
    });
    sock.on('connect_error', (err) => {
      // Refused at the handshake (the sign-in ended): the client does not retry that.
      if (String(err && err.message).startsWith('unauthenticated')) say('Your sign-in has ended: reload the page to sign in again.', true);
      else say('Lost the live connection; retrying…', true);
    });
    show({ ...m, fromLoad: true });
  };

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      if (mode === 'token') await api('POST', '/signin/token', { token: $('name').value });
      else await api('POST', '/signin', { name: $('name').value });
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
    wanted = true;
    busy(true);
    step('allocating');
    say('Asking for an instance…');
    const profile = document.querySelector('input[name=profile]:checked')?.value;
    try {
      // While the last session is still ending (its images being saved) the API answers
      // 409 session_releasing: ask again every few seconds, for up to a minute and a half.
      let r;
      for (let tries = 1; ; tries++) {
        try {
          r = await api('POST', '/sessions', profile ? { profile } : {});
          break;
        } catch (err) {
          if (err.code !== 'session_releasing' || tries >= 30 || !wanted) throw err;
          say('Your last session is ending: its images are being saved. Your new instance will be asked for as soon as it has ended…');
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
      show(r);
    } catch (err) {
      busy(false);
      $('steps').hidden = true;
      if (err.status === 401) say('You are signed out. Sign in again to start.', true);
      else if (err.status === 429) say(`${err.message}`, true);
      else if (err.status === 503) say(`No instance can start right now: ${err.message}. Try again in a minute; if it keeps failing, tell your admin.`, true);
      else say(err.message, true);
    }
  });
  $('leave-button').addEventListener('click', async () => {
    await api('DELETE', '/queue/me').catch(() => undefined);
    wanted = false;
    $('steps').hidden = true;
    show({});
    say('You left the queue.');
  });

  if ($('banner').textContent.trim()) $('banner').hidden = false;
  if (mode === 'token') {
    $('name-label').textContent = 'Your access token';
    $('name').type = 'password';
    $('name').autocomplete = 'current-password';
  }
  signedIn().catch((err) => {
    if (err.status === 401 && (mode === 'dev' || mode === 'token')) $('signin').hidden = false;
    else if (err.status === 401) say(`Sign-in is handled by your organisation's login (${mode}); reload this page after signing in.`, true);
    else say(err.message, true);
  });
})();
