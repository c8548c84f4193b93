// The session view: a thin bar (who, instance, time, idle warning with "I'm still here",
// End session, My images) above the user's WebUI, which the allocator proxies at /.
// When the instance ends, the page says so and offers to start again.
(() => {
  const { api, signedIn, socket, duration } = window.sdfleet;
  const $ = (id) => document.getElementById(id);
  let session = null;
  let deadline = null;
  let ended = false;

  const end = (reason) => {
    if (ended) return;
    ended = true;
    $('ended-reason').textContent = reason;
    $('ended').hidden = false;
    $('webui').remove();
  };
  const render = () => {
    if (!session) return;
    $('instance').textContent = session.instance;
    $('profile').textContent = session.profile;
    $('elapsed').textContent = duration((Date.now() - Date.parse(session.startedAt)) / 1000);
    if (deadline) {
      const left = (Date.parse(deadline.at) - Date.now()) / 1000;
      $('idle-text').textContent = deadline.reason === 'max-length'
        ? `Your session reaches its maximum length in ${duration(left)}. Save your work.`
        : `You seem to be away: this session ends in ${duration(left)} unless you are still here.`;
      $('still-here').hidden = deadline.reason === 'max-length';
    }
  };
  const apply = (state) => {
    const s = state.session;
    if (!s || s.state === 'gone') return end(s?.reason ? `Reason: ${s.reason}.` : 'The instance went away.');
    if (s.state === 'releasing') return end(`It was ended (${s.reason ?? 'released'}).`);
    session = s;
    if (s.warning && !deadline) deadline = { at: s.deadline, reason: s.deadlineReason };
    if (!s.warning) deadline = null;
    $('idle').hidden = !deadline;
    render();
  };

  const init = async () => {
    const m = await signedIn();
    if (!m) return;
    $('who').textContent = m.user.name;
    $('dev-note').hidden = document.body.dataset.mode !== 'dev';
    if (!m.session || m.session.state !== 'active') {
      location.replace('/_sdfleet/');
      return;
    }
    apply(m);
    const sock = socket();
    sock.on('state', apply);
    sock.on('idle-warning', (w) => {
      deadline = { at: w.deadline, reason: w.reason };
      $('idle').hidden = false;
      render();
    });
    sock.on('idle-clear', () => {
      deadline = null;
      $('idle').hidden = true;
    });
    sock.on('instance-gone', (e) => end(`Reason: ${e.reason}.`));
    setInterval(render, 1000);
  };

  $('still-here').addEventListener('click', async () => {
    $('still-here').disabled = true;
    try {
      await api('POST', `/sessions/${session.id}/keepalive`);
      deadline = null;
      $('idle').hidden = true;
    } catch (err) {
      $('idle-text').textContent = `Could not reach sdfleet: ${err.message}`;
    } finally {
      $('still-here').disabled = false;
    }
  });
  $('end-button').addEventListener('click', () => $('confirm-end').showModal());
  $('cancel-end').addEventListener('click', () => $('confirm-end').close());
  $('confirm-end-button').addEventListener('click', async () => {
    $('confirm-end').close();
    try {
      await api('DELETE', `/sessions/${session.id}`);
      end('You ended it. Your images are being saved.');
    } catch (err) {
      $('idle-text').textContent = `Could not end the session: ${err.message}`;
      $('idle').hidden = false;
    }
  });
  void init();
})();
