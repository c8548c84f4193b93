// The sim-webui page: calls txt2img and shows live progress from the WebSocket. Every URL
// is relative to the page, so it works behind a reverse proxy on the same origin.

const $ = (id) => document.getElementById(id);

function errorText(body, status) {
  if (Array.isArray(body?.detail)) return body.detail.map((d) => `${d.loc?.join('.')}: ${d.msg}`).join('; ');
  return body?.errors || body?.detail || `HTTP ${status}`;
}

function showProgress(p) {
  const running = p.state.job_count > 0;
  const bar = $('progress');
  bar.value = running ? p.progress : 0;
  bar.dataset.state = running ? 'running' : 'idle';
  $('progress-text').textContent = running
    ? `${p.state.job}: step ${p.state.sampling_step} of ${p.state.sampling_steps}, ${Math.round(p.progress * 100)} %, about ${Math.max(0, p.eta_relative).toFixed(1)} s left`
    : 'idle';
  $('interrupt').disabled = !running;
}

function connectProgress() {
  const url = new URL('sim/ws/progress', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  const conn = $('connection');
  ws.onopen = () => {
    conn.dataset.state = 'live';
    conn.textContent = 'live progress';
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === 'progress') showProgress(msg);
  };
  ws.onclose = () => {
    conn.dataset.state = 'reconnecting';
    conn.textContent = 'progress connection lost, retrying…';
    setTimeout(connectProgress, 2000);
  };
}

async function generate(event) {
  event.preventDefault();
  const button = $('generate');
  const error = $('error');
  button.disabled = true;
  error.hidden = true;
  const body = {
    prompt: $('prompt').value,
    negative_prompt: $('negative-prompt').value,
    steps: Number($('steps').value),
    seed: Number($('seed').value),
    width: Number($('width').value),
    height: Number($('height').value),
    // The real WebUI saves what its page generates; so does this one.
    save_images: true,
  };
  try {
    const res = await fetch('sdapi/v1/txt2img', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) throw new Error(errorText(data, res.status));
    const img = $('result-image');
    img.src = `data:image/png;base64,${data.images[0]}`;
    img.hidden = false;
    $('info').textContent = JSON.parse(data.info).infotexts[0] ?? '';
  } catch (err) {
    error.textContent = `Generation failed: ${err.message}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

async function interrupt() {
  await fetch('sdapi/v1/interrupt', { method: 'POST' });
}

$('form').addEventListener('submit', generate);
$('interrupt').addEventListener('click', () => void interrupt());
connectProgress();
