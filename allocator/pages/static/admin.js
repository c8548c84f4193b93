// The admin page: fleets, the autoscaler's decision, sessions, the queue, GameServers with
// their start-up phase tables; release a session, scale a fleet. Live over socket.io.
(() => {
  const { api, signedIn, socket, el, duration, ago } = window.sdfleet;
  const $ = (id) => document.getElementById(id);
  const say = (text, error = false) => {
    $('message').textContent = text;
    $('message').className = `status${error ? ' error' : ''}`;
  };
  const rows = (id, items, row, empty) => {
    const body = $(id).tBodies[0];
    body.replaceChildren(...(items.length ? items.map(row) : [el('tr', {}, el('td', { colspan: $(id).tHead.rows[0].cells.length, class: 'muted' }, empty))]));
  };
  const phaseText = (p) => {
    if (!p || !p.phases) return '—';
    const parts = Object.entries(p.phases).map(([k, v]) => `${k} ${v >= 10000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`}`);
    if (p.createdToReadyMs !== undefined) parts.push(`created→ready ${(p.createdToReadyMs / 1000).toFixed(1)} s`);
    return parts.join(' · ');
  };

  const render = (v) => {
    rows('fleets', v.fleets, (f) => el('tr', { 'data-fleet': f.fleet },
      el('td', {}, f.fleet), el('td', { class: 'num' }, f.desired ?? '—'), el('td', { class: 'num' }, f.ready), el('td', { class: 'num' }, f.allocated),
      el('td', { class: 'num' }, f.starting), el('td', { class: 'num' }, f.unhealthy),
      el('td', {}, el('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); void scale(f.fleet, e.target.elements.replicas.value); } },
        el('input', { name: 'replicas', type: 'number', min: '0', max: '1000', value: f.desired ?? f.total, 'aria-label': `Replicas of ${f.fleet}` }),
        el('button', { type: 'submit' }, 'Scale')))), 'No fleets.');
    rows('autoscalers', v.autoscalers, (a) => el('tr', {},
      el('td', {}, a.name), el('td', {}, a.fleet), el('td', {}, a.policy), el('td', { class: 'num' }, a.currentReplicas ?? '—'),
      el('td', { class: 'num' }, a.desiredReplicas ?? '—'), el('td', {}, a.lastScaleTime ? `${ago(a.lastScaleTime)} ago` : '—'),
      el('td', {}, a.reason ?? (a.ableToScale === false ? 'unable to scale (see its events)' : a.scalingLimited ? 'held at min/max' : '—'))), 'No FleetAutoscalers.');
    rows('sessions', v.sessions, (s) => el('tr', { 'data-session': s.id },
      el('td', {}, s.user), el('td', {}, s.gameServer), el('td', {}, s.profile), el('td', {}, `${ago(s.startedAt)} ago`),
      el('td', { class: 'num' }, s.generating ? 'generating' : duration(s.idleSeconds)), el('td', {}, s.state + (s.warning ? ' (warned)' : '')),
      el('td', {}, s.state === 'active' ? el('button', { type: 'button', class: 'danger', onclick: () => void release(s) }, 'Release') : '')), 'No sessions.');
    rows('queue', v.queue, (q) => el('tr', {},
      el('td', { class: 'num' }, q.position ?? '—'), el('td', {}, q.user), el('td', {}, q.profile), el('td', {}, ago(q.queuedAt)),
      el('td', { class: 'num' }, q.eta == null ? '—' : duration(q.eta))), 'Nobody is waiting.');
    rows('gameservers', v.gameServers, (g) => el('tr', { 'data-gameserver': g.name },
      el('td', {}, g.name), el('td', { class: `state ${g.state}` }, g.state, g.reason ? el('div', { class: 'phases' }, g.reason) : null),
      el('td', {}, g.user ?? ''), el('td', { class: 'num' }, g.createdAt ? ago(g.createdAt) : '—'), el('td', { class: 'phases' }, phaseText(g.phases))), 'No GameServers.');
  };

  const release = async (s) => {
    if (!window.confirm(`Release ${s.user}'s session on ${s.gameServer}? Their images are kept.`)) return;
    try {
      await api('DELETE', `/sessions/${encodeURIComponent(s.id)}`);
      say(`Releasing ${s.user}'s session.`);
    } catch (err) {
      say(err.message, true);
    }
  };
  const scale = async (fleet, replicas) => {
    try {
      await api('PUT', `/fleets/${encodeURIComponent(fleet)}/scale`, { replicas: Number(replicas) });
      say(`Scaling ${fleet} to ${replicas}.`);
    } catch (err) {
      say(err.message, true);
    }
  };

  const init = async () => {
    const m = await signedIn();
    if (!m) return;
    if (!m.user.admin) {
      say('This page is for admins only.', true);
      return;
    }
    render(await api('GET', '/admin/overview'));
    const sock = socket();
    sock.on('admin', render);
    sock.on('connect', () => ($('live').textContent = 'live'));
    sock.on('disconnect', () => ($('live').textContent = 'reconnecting…'));
  };
  init().catch((err) => say(err.message, true));
})();
